"""The store: round trips, migrations, and consistency after a killed ingest."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings, strategies as st

from storydesk.errors import NotFound, SchemaTooNew
from storydesk.records import Article, Flag, Removal, Source, Story
from storydesk.store import SQLiteStore, migrations, open_store

text_st = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
opt_text = st.none() | st.text(max_size=40)

articles_st = st.builds(
    lambda text, outlet, title, authors, published, removed, flags, fmt, entry: Article(
        id=Article.make_id(text, outlet), source=Source(format=fmt, path="in/x", entry=entry), text=text,
        title=title, outlet=outlet, authors=authors, published=published, removed=removed, flags=flags),
    text_st, opt_text, opt_text, st.lists(st.text(max_size=20), max_size=3), opt_text,
    st.lists(st.builds(Removal, st.text(max_size=50), st.sampled_from(["ad_marker", "byline"])), max_size=4),
    st.lists(st.builds(Flag, st.text(min_size=1, max_size=10), st.text(max_size=20)), max_size=3),
    st.sampled_from(["text", "html", "json", "jsonl", "feed", "warc"]), st.none() | st.integers(0, 10**6),
)


@settings(max_examples=60, deadline=None)
@given(article=articles_st, raw=st.binary(max_size=200))
def test_article_round_trip(store_factory, article, raw):
    with open_store(store_factory()) as store:
        assert store.add_article(article, raw)
        assert store.add_article(article, raw) is False
        back = store.get_article(article.id)
        assert back == article
        assert Article.from_dict(article.to_dict()) == article
        assert store.get_raw(back.raw_sha256) == raw


def test_records_round_trip_and_replace(backend_store):
    store = backend_store
    story = Story(id="s1", label="Ferry capsizes", article_ids=["a1", "a2"], first_seen="2024-05-13")
    store.put_records("stories", [story])
    assert store.get_records("stories", Story) == [story]
    store.replace_records("stories", [Story(id="s2", label="Other")])
    assert [s.id for s in store.get_records("stories", Story)] == ["s2"]


def test_records_are_listed_by_story_then_in_write_order(backend_store):
    """Stories are analysed in parallel and saved as they finish: the listing must not depend on it."""
    from storydesk.records import TimelineEvent
    events = lambda sid, *texts: [TimelineEvent(date="2024-05-13", precision="day", text=t, citations=[])  # noqa: E731
                                  for t in texts]
    backend_store.put_records("timeline", events("s2", "b1", "b2"), story_id="s2")
    backend_store.put_records("timeline", events("s1", "a1", "a2"), story_id="s1")
    backend_store.put_records("stories", [Story(id="s2", label="b"), Story(id="s1", label="a")])
    backend_store.put_records("stories", [Story(id="s2", label="c")])  # replaced: same place
    assert [e.text for e in backend_store.get_records("timeline", TimelineEvent)] == ["a1", "a2", "b1", "b2"]
    assert [(s.id, s.label) for s in backend_store.get_records("stories", Story)] == [("s1", "a"), ("s2", "c")]
    assert [e.text for e in backend_store.get_records("timeline", TimelineEvent, story_id="s2")] == ["b1", "b2"]


def test_state_is_replaced(backend_store):
    backend_store.put_state("x", b"1")
    backend_store.put_state("x", b"\x00\xff")
    assert backend_store.get_state("x") == b"\x00\xff" and backend_store.get_state("y") is None


def test_unknown_article_is_a_named_error(backend_store):
    store = backend_store
    with pytest.raises(NotFound, match="storydesk articles"):
        store.get_article("nope")


def test_migrations_are_numbered_and_applied(store_factory):
    numbers = [n for n, _ in migrations()]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    target = store_factory()
    with open_store(target) as store:
        assert store.schema_version == numbers[-1]
    with open_store(target) as store:  # re-opening applies nothing twice
        assert store.schema_version == numbers[-1]


def test_newer_schema_is_refused(store_factory):
    target = store_factory()
    with open_store(target) as store:
        if not target.startswith("postgres"):
            store.db.execute("PRAGMA user_version=999")
        else:
            store.db.execute("INSERT INTO storydesk_migrations (number) VALUES (999)")
    with pytest.raises(SchemaTooNew, match="upgrade storydesk"):
        open_store(target)


def test_killed_ingest_leaves_consistent_store_and_rerun_finishes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    total = 3000
    for i in range(total):
        (corpus / f"{i:04d}.txt").write_text(f"Report number {i} on the ferry inquiry.\n\n"
                                             + f"Witness {i} said the wind rose quickly on the lake that morning. " * 20)
    db = str(tmp_path / "k.db")
    cmd = [sys.executable, "-m", "storydesk.cli", "ingest", str(corpus), "--db", db, "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = _wait_for_articles(db, at_least=50, proc=proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < stored < total, "the kill must land in the middle of the ingest"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = conn.execute("SELECT count(*) FROM articles a LEFT JOIN raw_inputs r ON a.raw_sha256=r.sha256 "
                           "WHERE r.sha256 IS NULL").fetchone()[0]
    conn.close()
    assert orphans == 0
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    with SQLiteStore(db) as store:
        assert store.article_count() == total


def _wait_for_articles(db: str, at_least: int, proc) -> int:
    """Poll the store (read-only) until the ingest has stored some articles."""
    for _ in range(3000):
        if os.path.exists(db):
            try:
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                count = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                conn.close()
                if count >= at_least:
                    return count
            except sqlite3.OperationalError:
                pass  # tables not created yet
        time.sleep(0.01)
    return -1


def test_a_postgresql_url_is_not_taken_for_a_sqlite_file(tmp_path, monkeypatch):
    from storydesk.errors import NotAStore
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotAStore, match=r"PostgreSQL URL.*open_store") as err:
        SQLiteStore("postgresql://sd:s3cret@127.0.0.1:5432/news")
    assert "s3cret" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no folder named "postgresql:" left behind
