"""`analyze` on a Dask LocalCluster of 2 worker processes: the same briefing as one process,
on SQLite and on PostgreSQL, and the same again when a worker is killed (kill -9) mid-run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from storydesk import engine, work
from storydesk.briefing import analyse, build_briefing
from storydesk.ingest import ingest
from storydesk.store import open_store

pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")
from storydesk.cluster import DaskExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = str(ROOT / "examples" / "corpus")
SMALL_BATCH = 2  # articles per task in the kill test: several tasks, so a kill lands among them


@pytest.fixture(scope="module")
def local2():
    with DaskExecutor("local:2") as executor:
        yield executor


def briefing_of(target: str, **run) -> str:
    """Ingest the sample corpus into ``target``, analyse it (on the cluster given), return its briefing JSON."""
    with open_store(target) as store:
        ingest([CORPUS], store)
        if run:
            analyse(store, progress=False, **run)
        document = build_briefing(store).to_dict()
    document.pop("generated_at")
    return json.dumps(document, sort_keys=True)


@pytest.fixture(scope="module")
def single_process(tmp_path_factory) -> str:
    """The CLI's `analyze --jobs 1`, in its own process: the models stay out of the test process,
    whose address space later tests' forked children inherit under a memory limit (test_fuzz)."""
    db = str(tmp_path_factory.mktemp("serial") / "s.db")
    briefing_of(db)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "storydesk.cli", "analyze", "--db", db, "--jobs", "1", "-q"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    with open_store(db) as store:
        document = build_briefing(store).to_dict()
    document.pop("generated_at")
    return json.dumps(document, sort_keys=True)


@pytest.mark.slow
def test_sample_briefing_same_single_process_and_on_dask(single_process, local2, tmp_path):
    assert json.loads(single_process)["stories"], "the sample corpus must make stories"
    assert briefing_of(str(tmp_path / "dask.db"), executor=local2) == single_process


@pytest.mark.slow
def test_sample_briefing_same_on_postgres_and_dask(single_process, local2, pg_server):
    assert briefing_of(pg_server.new_database(), executor=local2) == single_process


class KillOneWorker:
    """Hand jobs to the cluster; when the first result of ``article_job`` arrives, kill -9 a
    worker that is running a task at that moment (so its work is lost mid-task)."""

    def __init__(self, executor: DaskExecutor):
        self.executor, self.killed = executor, None

    def map(self, fn, items):
        for result in self.executor.map(fn, items):
            if fn is work.article_job and self.killed is None:
                self.killed = self._kill_a_busy_worker()
            yield result

    def _kill_a_busy_worker(self) -> tuple[str, int]:
        client = self.executor.client
        busy = [addr for addr, keys in client.processing().items() if keys]
        assert busy, "no worker was running a task: the kill would not land mid-run"
        pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        return busy[0], pid


@pytest.mark.slow
def test_worker_killed_mid_analyze_run_completes_same_briefing_nothing_written_twice(
        single_process, local2, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "ARTICLE_BATCH", SMALL_BATCH)
    saved_batches: Counter = Counter()
    saved_stories: Counter = Counter()
    real_save, real_save_story = work.save, engine._save_story

    def count_save(store, result):
        saved_batches[tuple(result.article_ids)] += 1
        return real_save(store, result)

    def count_save_story(store, outcome, kinds):
        saved_stories[outcome.story_id] += 1
        return real_save_story(store, outcome, kinds)

    monkeypatch.setattr(work, "save", count_save)
    monkeypatch.setattr(engine, "_save_story", count_save_story)
    before = set(local2.worker_pids().values())
    killer = KillOneWorker(local2)
    db = str(tmp_path / "killed.db")

    assert briefing_of(db, executor=killer) == single_process
    assert killer.killed is not None and killer.killed[1] in before
    assert killer.killed[1] not in set(local2.worker_pids().values()), "the killed worker must be gone"
    with open_store(db) as store:
        articles = store.article_count()
        stories = {s for (s,) in store.db.execute("SELECT story_id FROM story_runs").fetchall()}
    assert len(saved_batches) == -(-articles // SMALL_BATCH) > 2, "several article tasks, each saved once"
    assert set(saved_batches.values()) == {1}, f"an article batch was written twice: {saved_batches}"
    assert sum(len(ids) for ids in saved_batches) == articles
    assert set(saved_stories) == stories and set(saved_stories.values()) == {1}
