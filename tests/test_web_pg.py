"""The web app on the PostgreSQL store: the same pages, API, search, background jobs and watched
sources as on SQLite. Skips with a message when STORYDESK_TEST_PG is unset (see conftest.py)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("fastapi")
pytest.importorskip("psycopg")

import web_store  # noqa: E402
from storydesk.store import open_store  # noqa: E402
from storydesk.watch import source_states  # noqa: E402
from test_web import make_client, parse  # noqa: E402
from test_web_watch import _csrf  # noqa: E402


@pytest.fixture(scope="module")
def pg_site(pg_server, tmp_path_factory):
    url = pg_server.new_database()
    ids = web_store.build(url, tmp_path_factory.mktemp("web-pg"))
    c = make_client(url, watch_every=None)
    yield c, ids, url
    c.app.state.jobs.stop()


def test_stories_story_article_and_search_pages(pg_site):
    c, ids, _ = pg_site
    home = c.get("/")
    assert home.status_code == 200 and "Tessaly dam collapse floods Brellin" in home.text
    story = c.get(f"/stories/{ids['story']}")
    assert story.status_code == 200 and 'id="summary"' in story.text
    cites = [h for h in parse(story.text).hrefs if h.startswith("/articles/") and "?span=" in h]
    assert cites
    path, frag = cites[0].split("#")
    article = c.get(path)
    assert article.status_code == 200 and frag in parse(article.text).ids
    assert f"/articles/{ids['wire']}?span=" in c.get(f"/articles/{ids['copy']}").text  # reuse marked both ways
    found = c.get("/search", params={"q": "cracks western wall"})
    assert found.status_code == 200 and "<mark>" in found.text
    assert any("?span=" in h for h in parse(found.text).hrefs)
    assert c.get("/entities/e1").status_code == 200
    assert c.get(f"/stories/{ids['story']}/briefing.md").status_code == 200


def test_api_and_its_errors(pg_site):
    c, ids, _ = pg_site
    stories = c.get("/api/v1/stories").json()
    assert {s["id"] for s in stories["items"]} == {ids["story"], ids["payload_story"]}
    assert c.get(f"/api/v1/stories/{ids['story']}").json()["stories"][0]["id"] == ids["story"]
    listed = c.get("/api/v1/articles", params={"story": ids["story"]}).json()
    assert ids["wire"] in {a["id"] for a in listed["items"]}
    hits = c.get("/api/v1/search", params={"q": "cracks western wall"}).json()["items"]
    assert hits and hits[0]["url"].startswith("/articles/")
    for path in ("/api/v1/stories/none", "/api/v1/articles/missing"):
        assert c.get(path).json()["error"]["code"] == "not_found"
    assert c.get("/api/v1/search", params={"q": "x" * 10_000}).status_code == 400


def test_paste_is_ingested_in_the_background_and_shown(pg_site):
    c, ids, url = pg_site
    before = c.get("/api/v1/articles").json()["total"]
    c.cookies.clear()
    text = ("Divers from the coast guard searched the old market of Brellin on Saturday after the Tessaly dam "
            "on the Varno river partly collapsed, Governor Ilse Marquand said.")
    r = c.post("/api/v1/ingest", json={"text": text, "title": "Divers search Brellin market", "outlet": "Quay Times"})
    assert r.status_code == 202 and c.app.state.jobs.wait(120)
    job = c.get(f"/api/v1/jobs/{r.json()['id']}").json()
    assert job["status"] == "done" and [o["status"] for o in job["outcomes"]] == ["added"], job
    assert c.get("/api/v1/articles").json()["total"] == before + 1  # the snapshot saw the job's write
    added = job["outcomes"][0]["article_id"]
    assert "Divers search Brellin market" in c.get(f"/articles/{added}").text
    with open_store(url) as pg:  # written to PostgreSQL, not to a file named after the URL
        assert pg.has_article(added)


def test_watch_a_folder_and_stop(pg_site, tmp_path):
    c, _, url = pg_site
    c.cookies.clear()
    assert c.post("/api/v1/watch", json={"source": str(tmp_path)}).status_code == 202
    assert c.app.state.jobs.wait(60)
    (item,) = c.get("/api/v1/watch").json()["items"]
    assert item["kind"] == "folder" and item["last_status"]
    with open_store(url) as pg:
        assert [s.source for s in source_states(pg)] == [str(tmp_path)]
    stop = c.post("/watch/stop", data={"csrf": _csrf(c), "source": str(tmp_path)}, follow_redirects=False)
    assert stop.status_code == 303 and c.get("/api/v1/watch").json()["total"] == 0
    assert re.search(r'id="no-sources"', c.get("/watch").text)


def test_serve_command_takes_a_postgresql_url(pg_site, monkeypatch):
    """`storydesk serve --db postgresql://...` builds the app on that store (uvicorn is not started)."""
    from click.testing import CliRunner
    from storydesk.cli import cli
    import uvicorn

    _, _, url = pg_site
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    result = CliRunner().invoke(cli, ["serve", "--db", url, "--port", "0", "--watch-every", "off"])
    assert result.exit_code == 0, result.output
    assert started["app"].state.config.db == url and f"serving {url}" in result.output


def test_a_dropped_connection_is_replaced_on_the_next_request(pg_site, pg_server):
    """A PostgreSQL restart cuts every server thread's connection: at most the request that finds
    it cut fails (in the error shape), the next ones open a new connection."""
    _, _, url = pg_site
    with make_client(url, watch_every=None) as c:  # one event loop: worker threads keep their stores
        assert c.get("/api/v1/watch").status_code == 200  # a plain query each time, not a retried store call
        pg_server.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (url.rsplit("/", 1)[1],))
        first = c.get("/api/v1/watch")
        assert first.status_code == 200 or first.json()["error"]["code"] == "internal_error"
        assert [c.get("/api/v1/watch").status_code for _ in range(3)] == [200, 200, 200]
        c.app.state.jobs.stop()
