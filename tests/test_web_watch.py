"""Watching sources from the web app: the form, the API, the list with last check and last error.

The feeds and pages come from the local test server of test_watch.py, on 127.0.0.1 only."""
from __future__ import annotations

import html
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

import web_store  # noqa: E402
from test_watch import CORPUS, server  # noqa: E402,F401  (the local HTTP server fixture)
from test_web import _assert_payloads_inert, make_client  # noqa: E402


@pytest.fixture
def client(tmp_path):
    db = str(tmp_path / "watch.db")
    web_store.build(db, tmp_path / "work")
    c = make_client(db, watch_every=None, watch_rate=0.0, watch_timeout=0.5)
    yield c
    c.app.state.jobs.stop()


def _csrf(c) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/watch").text)[1]


def _add(c, source: str):
    r = c.post("/watch", data={"csrf": _csrf(c), "source": source}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert c.app.state.jobs.wait(60)
    return c.get(r.headers["location"])


def _rows(c) -> dict:
    return {item["source"].rsplit("/", 1)[-1]: item for item in c.get("/api/v1/watch").json()["items"]}


def test_form_watches_a_feed_and_lists_last_check_and_error(client, server):  # noqa: F811
    site, base = server
    assert 'id="no-sources"' in client.get("/watch").text
    job = _add(client, f"{base}/feed.rss")
    assert 'data-status="done"' in job.text and 'class="job-story"' in job.text and 'id="watched-link"' in job.text
    _add(client, f"{base}/error")
    page = client.get("/watch").text
    assert page.count('class="watched-source"') == 2 and "HTTP 500" in page
    rows = _rows(client)
    assert rows["feed.rss"]["last_status"] == "new" and rows["feed.rss"]["added"] == 2
    assert rows["feed.rss"]["last_checked"] and rows["feed.rss"]["last_error"] is None
    assert rows["error"]["last_status"] == "failed" and "HTTP 500" in rows["error"]["last_error"]


def test_check_now_polls_every_watched_source_conditionally(client, server):  # noqa: F811
    site, base = server
    _add(client, f"{base}/feed.rss")
    site.add_entry_and_update_one()
    r = client.post("/watch/check", data={"csrf": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and client.app.state.jobs.wait(60)
    assert "2 new article(s)" in client.get(r.headers["location"]).text
    assert _rows(client)["feed.rss"]["added"] == 4
    client.post("/watch/check", data={"csrf": _csrf(client)})
    assert client.app.state.jobs.wait(60)
    assert _rows(client)["feed.rss"]["last_status"] == "not_modified"  # the server answered 304


def test_api_watches_a_folder(client, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "one.txt").write_bytes((CORPUS / "northbank_review_rescue.txt").read_bytes())
    client.cookies.clear()  # an API client, not a browser session
    r = client.post("/api/v1/watch", json={"source": str(folder)})
    assert r.status_code == 202 and r.json()["kind"] == "watch"
    assert client.app.state.jobs.wait(60)
    job = client.get(f"/api/v1/jobs/{r.json()['id']}").json()
    assert job["status"] == "done" and job["error"] is None
    (item,) = client.get("/api/v1/watch").json()["items"]
    assert item["kind"] == "folder" and item["added"] == 1


@pytest.mark.parametrize("body, code", [
    ({"source": ""}, "empty_source"), ({"source": "ftp://example.invalid/feed"}, "bad_source"),
    ({"source": "/no/such/folder"}, "bad_source"), ({"source": "http://"}, "bad_source"),
    ({"source": "x" * 5000}, "bad_source"), ({"url": "https://example.invalid/"}, "bad_request"),
])
def test_sources_it_cannot_watch_get_the_error_shape(client, body, code):
    client.cookies.clear()
    r = client.post("/api/v1/watch", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert client.get("/api/v1/watch").json()["total"] == 0  # nothing was queued or recorded


def test_watch_form_needs_csrf_and_same_origin(client):
    assert client.post("/watch", data={"source": "/tmp"}).status_code == 403
    cross = client.post("/watch", data={"csrf": _csrf(client), "source": "/tmp"},
                        headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert client.post("/watch/check", data={}).status_code == 403
    bad = client.post("/watch", data={"csrf": _csrf(client), "source": "javascript:alert(1)"})
    assert bad.status_code == 400 and "cannot watch" in bad.text and "<script" not in bad.text


def test_watched_sources_are_polled_again_on_a_schedule(tmp_path, server):  # noqa: F811
    site, base = server
    db = str(tmp_path / "every.db")
    web_store.build(db, tmp_path / "work")
    c = make_client(db, watch_every=0.2, watch_rate=0.0, watch_timeout=0.5)
    try:
        c.cookies.clear()
        assert c.post("/api/v1/watch", json={"source": f"{base}/feed.rss"}).status_code == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(j.kind == "watch" for j in c.app.state.jobs.jobs.values()) < 3:
            time.sleep(0.1)
        assert sum(j.kind == "watch" for j in c.app.state.jobs.jobs.values()) >= 3
        assert c.app.state.jobs.wait(60)
        assert _rows(c)["feed.rss"]["last_status"] == "not_modified"
    finally:
        c.app.state.jobs.stop()


def test_serve_refuses_a_bad_watch_interval(tmp_path):
    from click.testing import CliRunner
    from storydesk.cli import cli
    result = CliRunner().invoke(cli, ["serve", "--watch-every", "soon", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "not a duration" in result.output


def test_stop_watching_from_the_page(client, server):  # noqa: F811
    site, base = server
    _add(client, f"{base}/feed.rss")
    _add(client, f"{base}/error")
    page = client.get("/watch").text
    assert page.count('class="stop-form"') == 2
    r = client.post("/watch/stop", data={"csrf": _csrf(client), "source": f"{base}/error"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/watch"
    assert set(_rows(client)) == {"feed.rss"}
    assert client.get("/api/v1/articles").json()["total"] > 0  # what it brought stays
    # Without the token, from another site, or for a source not watched: refused, nothing removed.
    assert client.post("/watch/stop", data={"source": f"{base}/feed.rss"}).status_code == 403
    cross = client.post("/watch/stop", data={"csrf": _csrf(client), "source": f"{base}/feed.rss"},
                        headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    again = client.post("/watch/stop", data={"csrf": _csrf(client), "source": f"{base}/error"})
    assert again.status_code == 404 and "not watched" in again.text
    assert set(_rows(client)) == {"feed.rss"}


def test_stop_watching_from_the_api(client, server):  # noqa: F811
    site, base = server
    _add(client, f"{base}/feed.rss")
    # A browser session (it has the CSRF cookie) must send the token in X-CSRF-Token.
    assert client.delete("/api/v1/watch", params={"source": f"{base}/feed.rss"}).status_code == 403
    client.cookies.clear()  # an API client, not a browser session
    r = client.delete("/api/v1/watch", params={"source": f"{base}/feed.rss"})
    assert r.status_code == 200 and r.json()["source"] == f"{base}/feed.rss" and r.json()["added"] == 2
    assert client.get("/api/v1/watch").json()["total"] == 0
    for params, status, code in (({"source": f"{base}/feed.rss"}, 404, "not_watched"), ({}, 400, "bad_request"),
                                 ({"source": ""}, 400, "bad_request"), ({"source": "x" * 3000}, 400, "bad_request")):
        r = client.delete("/api/v1/watch", params=params)
        assert r.status_code == status and r.json()["error"]["code"] == code, (params, r.text)


def test_payloads_in_a_watched_source_stay_text_on_the_job_and_watch_pages(client, server):  # noqa: F811
    """A source is whatever a user typed: its URL carries the payloads to the job page (the failure
    names it) and to /watch (the list and the stop button's hidden field)."""
    site, base = server
    sources = [f"{base}/gone/{payload}" for payload in web_store.PAYLOADS.values()]
    for source in sources:
        job = _add(client, source)
        assert 'data-status="done"' in job.text
        error = html.unescape(re.search(r'<p class="error">(.*?)</p>', job.text, re.S)[1])
        assert error.startswith(source + ": ") and "HTTP 404" in error
        _assert_payloads_inert(job.text)
    page = client.get("/watch").text
    assert {html.unescape(s) for s in re.findall(r'<td class="source">([^<]*)</td>', page)} == set(sources)
    stops = re.findall(r'<input type="hidden" name="source" value="([^"]*)">', page)
    assert {html.unescape(v) for v in stops} == set(sources)  # the stop buttons send each source back intact
    _assert_payloads_inert(page)
    r = client.post("/watch/stop", data={"csrf": _csrf(client), "source": sources[0]}, follow_redirects=False)
    assert r.status_code == 303
    assert {i["source"] for i in client.get("/api/v1/watch").json()["items"]} == set(sources[1:])
