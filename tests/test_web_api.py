"""The API against its OpenAPI document: every route documented, every response valid."""
from __future__ import annotations

import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("fastapi")

from test_web import built, make_client  # noqa: E402,F401  (the module-scoped store fixture)


@pytest.fixture(scope="module")
def api(built):  # noqa: F811
    c = make_client(built[0])
    doc = c.get("/api/v1/openapi.json").json()
    return c, doc, built[1]


def _operation(doc: dict, method: str, path: str) -> dict:
    """The documented operation for a concrete path (``/api/v1/stories/s1`` -> ``/api/v1/stories/{story_id}``)."""
    parts = path.split("?")[0].strip("/").split("/")
    for template, ops in doc["paths"].items():
        tparts = template.strip("/").split("/")
        if len(tparts) == len(parts) and all(t == p or t.startswith("{") for t, p in zip(tparts, parts)):
            if method in ops:
                return ops[method]
    raise AssertionError(f"{method.upper()} {path} is not documented")


def _validate(doc: dict, method: str, path: str, response) -> None:
    op = _operation(doc, method, path)
    status = str(response.status_code)
    documented = op["responses"].get(status) or op["responses"].get("default")
    assert documented, f"{method.upper()} {path}: status {status} is not documented"
    schema = documented["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(response.json())


def test_every_api_route_is_documented(api):
    client, doc, _ = api
    from storydesk.web.api import router
    routes = [(m.lower(), r.path) for r in router.routes for m in r.methods if m != "HEAD"]
    assert len(routes) >= 11
    for method, path in routes:
        assert path in doc["paths"] and method in doc["paths"][path], (method, path)
    assert doc["openapi"].startswith("3.")


def test_every_response_matches_the_document(api):
    client, doc, ids = api
    sid, aid = ids["story"], ids["wire"]
    calls = [
        ("get", "/api/v1/stories"), ("get", "/api/v1/stories?limit=1&offset=1&sort=recency"),
        ("get", f"/api/v1/stories/{sid}"), ("get", "/api/v1/stories/none"),
        ("get", "/api/v1/articles"), ("get", f"/api/v1/articles?story={sid}"), ("get", f"/api/v1/articles/{aid}"),
        ("get", "/api/v1/articles/missing"), ("get", "/api/v1/entities"), ("get", "/api/v1/entities/e1"),
        ("get", "/api/v1/entities/none"), ("get", f"/api/v1/quotes?story={sid}"), ("get", "/api/v1/quotes?speaker=renk"),
        ("get", "/api/v1/claims"), ("get", "/api/v1/search?q=dam+cracks"), ("get", "/api/v1/search?q=%22"),
        ("get", "/api/v1/search?q=dam&mode=fts&outlet=Harbor+Wire"), ("get", "/api/v1/stories?limit=0"),
        ("get", "/api/v1/jobs/none"),
    ]
    for method, path in calls:
        _validate(doc, method, path, client.request(method.upper(), path))
    client.cookies.clear()
    posted = client.post("/api/v1/ingest", json={"text": "A short note about the Brellin flood pumps. " * 3})
    _validate(doc, "post", "/api/v1/ingest", posted)
    job = client.get(f"/api/v1/jobs/{posted.json()['id']}")
    _validate(doc, "get", f"/api/v1/jobs/{posted.json()['id']}", job)
    assert client.app.state.jobs.wait(60)
    client.cookies.clear()
    _validate(doc, "post", "/api/v1/ingest", client.post("/api/v1/ingest", json={"text": ""}))


def test_watch_responses_match_the_document(api, tmp_path):
    client, doc, _ = api
    client.cookies.clear()
    _validate(doc, "post", "/api/v1/watch", client.post("/api/v1/watch", json={"source": "ftp://example.invalid/"}))
    _validate(doc, "post", "/api/v1/watch", client.post("/api/v1/watch", json={"source": str(tmp_path)}))
    assert client.app.state.jobs.wait(60)
    _validate(doc, "get", "/api/v1/watch", client.get("/api/v1/watch"))
    _validate(doc, "get", "/api/v1/watch?limit=0", client.get("/api/v1/watch?limit=0"))
    for source in (str(tmp_path), str(tmp_path), ""):  # stopped, then not watched, then malformed
        _validate(doc, "delete", "/api/v1/watch", client.delete("/api/v1/watch", params={"source": source}))


def test_briefing_components_come_from_the_briefing_schema(api):
    _, doc, _ = api
    comps = doc["components"]["schemas"]
    assert {"Briefing", "Briefing_article", "Briefing_quote", "Briefing_claim", "Briefing_entity"} <= set(comps)
    assert "$defs" not in str(comps)
