"""Executors and the parallel WARC ingest on a LocalCluster of 2 worker processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storydesk.cluster import DaskExecutor, SerialExecutor, open_executor
from storydesk.errors import ConfigError
from storydesk.ingest import ingest
from storydesk.store import open_store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _crawl import make_crawl  # noqa: E402

pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")


def slow_square(x: int) -> tuple[int, int]:
    time.sleep(0.05)
    return x, x * x


@pytest.fixture(scope="module")
def local2():
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    with DaskExecutor("local:2") as executor:
        yield executor


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    return make_crawl(tmp_path_factory.mktemp("crawl"), files=3, pages_per_file=25, seed=3)


def test_serial_executor_maps_in_order():
    assert list(SerialExecutor().map(slow_square, [3, 1, 2])) == [(3, 9), (1, 1), (2, 4)]


def test_bad_cluster_addresses_are_config_errors():
    for address in ("local:0", "local:x", "scheduler:8786"):
        with pytest.raises(ConfigError, match="--cluster"):
            DaskExecutor(address)
    with open_executor(None) as executor:
        assert executor is None


def test_dask_map_returns_every_result_once_from_lazy_items(local2):
    assert local2.workers == 2
    items = (i for i in range(40))  # a generator: submitted a few at a time
    results = list(local2.map(slow_square, items))
    assert sorted(results) == [(i, i * i) for i in range(40)]


def test_worker_killed_mid_map_run_completes_with_same_results(local2):
    pids = list(local2.worker_pids().values())
    results = []
    for n, result in enumerate(local2.map(slow_square, range(60))):
        results.append(result)
        if n == 5:
            os.kill(pids[0], signal.SIGKILL)
    assert sorted(results) == [(i, i * i) for i in range(60)]
    assert set(local2.worker_pids().values()) != set(pids), "the killed worker should have been replaced"


def _articles(target):
    with open_store(target) as store:
        return {a.id: (a.text, a.title, a.outlet, a.published) for a in store.articles()}


def test_parallel_warc_ingest_matches_serial_and_resumes(local2, crawl, tmp_path):
    serial, parallel = str(tmp_path / "serial.db"), str(tmp_path / "parallel.db")
    with open_store(serial) as store:
        ingest([str(p) for p in crawl.files], store)
    with open_store(parallel) as store:
        first = ingest([str(p) for p in crawl.files], store, executor=local2)
    assert first.count("added") == crawl.distinct_articles and not first.failed
    assert _articles(parallel) == _articles(serial)
    with open_store(parallel) as store:
        again = ingest([str(p) for p in crawl.files], store, executor=local2)
        parsed = store.db.execute("SELECT count(*) FROM ingested_records").fetchone()[0]
    assert again.count("added") == 0 and again.count("present") == crawl.html_pages
    assert parsed == len(set(_keys(crawl)))  # one row per distinct record, however often it recurs


def _keys(crawl):
    from storydesk.ingest.parallel import index_warc

    return [e.key for p in crawl.files for e in index_warc(str(p)).entries]


def test_every_record_keyed_and_duplicates_share_a_key(crawl):
    keys = _keys(crawl)
    assert len(keys) == crawl.html_pages
    assert len(set(keys)) < len(keys), "records repeated across files must share their key"


def test_cluster_ingest_into_postgres(local2, crawl, pg_server):
    url = pg_server.new_database()
    with open_store(url) as store:
        report = ingest([str(p) for p in crawl.files], store, executor=local2)
        assert store.article_count() == crawl.distinct_articles == report.count("added")


def test_killed_cluster_ingest_resumes_without_doubles(crawl, tmp_path):
    db = str(tmp_path / "k.db")
    big = make_crawl(tmp_path / "big", files=4, pages_per_file=60, seed=11)
    cmd = [sys.executable, "-m", "storydesk.cli", "ingest", *map(str, big.files), "--db", db, "-q",
           "--cluster", "local:2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            start_new_session=True)
    try:
        stored = _wait_for(db, at_least=20, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its LocalCluster together
        proc.wait()
    assert 0 < stored < big.distinct_articles, "the kill must land in the middle of the ingest"
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    with open_store(db) as store:
        assert store.article_count() == big.distinct_articles
        row = store.db.execute("SELECT count(*), count(DISTINCT id) FROM articles").fetchone()
        assert row == (big.distinct_articles, big.distinct_articles)


def _wait_for(db: str, at_least: int, timeout: float) -> int:
    import sqlite3

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            count = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            conn.close()
            if count >= at_least:
                return count
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    return -1


def test_dask_is_not_imported_without_cluster(tmp_path):
    code = ("import sys; from storydesk.cli import cli; "
            "cli(['ingest', sys.argv[1], '--db', sys.argv[2], '-q'], standalone_mode=False); "
            "assert 'distributed' not in sys.modules and 'dask' not in sys.modules, 'dask was imported'")
    src = tmp_path / "a.txt"
    src.write_text("A short dispatch.\n\n" + "The river rose over the old quay in Lorrin overnight. " * 10)
    out = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / "d.db")], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
