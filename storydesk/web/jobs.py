"""Background ingest + analysis for the web app: one job at a time, never in a request.

A request only writes its upload to a private folder and queues a :class:`Job`;
one worker thread ingests and analyses, so the server keeps answering while the
engine runs and two analyses never overlap. Pages show the job's progress.
"""
from __future__ import annotations

import datetime as dt
import queue
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..records import IngestOutcome
from ..store import SQLiteStore, open_store
from .data import bump_generation

MAX_JOBS_KEPT = 200


@dataclass
class Job:
    id: str
    kind: str  # upload | paste | watch
    status: str = "queued"  # queued | ingesting | analysing | done | failed
    detail: str = "waiting for the previous job to finish"
    created: str = ""
    finished: Optional[str] = None
    outcomes: list[IngestOutcome] = field(default_factory=list)
    error: Optional[str] = None
    story_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "status": self.status, "detail": self.detail,
                "created": self.created, "finished": self.finished, "error": self.error,
                "story_ids": self.story_ids, "outcomes": [o.to_dict() for o in self.outcomes]}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class JobQueue:
    """Jobs run in order on one worker thread (``analyse`` is the engine's incremental analysis)."""

    def __init__(self, db: str, analyse: Optional[Callable[[SQLiteStore], object]] = None):
        self.db = db
        self.analyse = _analysed(analyse or _default_analyse)
        self.jobs: dict[str, Job] = {}
        self._queue: "queue.Queue[tuple[Job, Callable[[SQLiteStore, Job], None], Optional[Path]]]" = queue.Queue()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._work, name="storydesk-jobs", daemon=True)
        self._thread.start()

    def submit_files(self, kind: str, files: list[tuple[str, bytes]]) -> Job:
        """Queue ingest of uploaded ``(name, bytes)``; names are reduced to a safe base name."""
        folder = Path(tempfile.mkdtemp(prefix="storydesk-upload-"))
        paths = []
        for n, (name, data) in enumerate(files):
            path = folder / f"{n:03d}-{safe_name(name)}"
            path.write_bytes(data)
            paths.append(str(path))
        return self._submit(kind, lambda store, job: self._ingest(store, job, paths), folder)

    def submit_watch(self, sources: Optional[list[str]], **options) -> Job:
        """Poll ``sources`` once (None: every watched source) with :class:`storydesk.watch.Watcher`;
        ``options`` go to the Watcher (``min_interval``, ``timeout``). Each source stays watched."""
        return self._submit("watch", lambda store, job: self._watch(store, job, sources, options), None)

    def poll_every(self, seconds: float, **options) -> None:
        """Queue a poll of every watched source every ``seconds`` (never a second one while one waits)."""
        def loop() -> None:
            while not self._stopped.wait(seconds):
                busy = any(j.kind == "watch" and j.status not in ("done", "failed") for j in list(self.jobs.values()))
                if not busy and self._watched():
                    self.submit_watch(None, **options)
        threading.Thread(target=loop, name="storydesk-watch", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _watched(self) -> list[str]:
        from ..watch import source_states
        with open_store(self.db) as store:
            return [s.source for s in source_states(store)]

    def submit_call(self, kind: str, call: Callable[[SQLiteStore, Job], None]) -> Job:
        return self._submit(kind, call, None)

    def _submit(self, kind, call, folder) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, created=_now())
        with self._lock:
            self.jobs[job.id] = job
            while len(self.jobs) > MAX_JOBS_KEPT:
                self.jobs.pop(next(iter(self.jobs)))
        self._queue.put((job, call, folder))
        return job

    def get(self, job_id: str) -> Optional[Job]:
        return self.jobs.get(job_id)

    def pending(self) -> int:
        return sum(j.status not in ("done", "failed") for j in list(self.jobs.values()))

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until every queued job finished (for tests and the CLI)."""
        done = threading.Event()
        self._queue.put((None, lambda *_: done.set(), None))
        return done.wait(timeout)

    def _ingest(self, store: SQLiteStore, job: Job, paths: list[str]) -> None:
        from ..ingest import ingest

        job.status, job.detail = "ingesting", f"reading {len(paths)} file(s)"
        report = ingest(paths, store)
        job.outcomes = report.outcomes
        added = report.count("added")
        if added:
            job.status, job.detail = "analysing", f"{added} new article(s); analysing (this can take a minute)"
            self.analyse(store)
            bump_generation()
        ids = {o.article_id for o in report.outcomes if o.article_id}
        job.story_ids = sorted({sid for sid, aids in _story_members(store) if ids & aids})
        job.detail = f"{added} added, {report.count('present')} already present, {report.count('failed')} failed"

    def _watch(self, store: SQLiteStore, job: Job, sources: Optional[list[str]], options: dict) -> None:
        from ..watch import Watcher, source_states

        todo = sources if sources is not None else [s.source for s in source_states(store)]
        job.status, job.detail = "ingesting", f"checking {len(todo)} watched source(s)"

        def analyse(s: SQLiteStore) -> None:
            job.status, job.detail = "analysing", "new articles; analysing (this can take a minute)"
            self.analyse(s)
            bump_generation()

        watcher = Watcher(store, analyse=analyse, **options)
        try:
            outcomes = watcher.poll(todo)
        finally:
            watcher.close()
        added = {aid for o in outcomes for aid in o.added}
        job.story_ids = sorted({sid for sid, aids in _story_members(store) if added & aids})
        job.detail = f"{len(todo)} source(s) checked, {len(added)} new article(s)"
        failed = [f"{o.source}: {o.error or o.status}" for o in outcomes if o.status in ("failed", "blocked")]
        job.error = "; ".join(failed)[:1000] or None

    def _work(self) -> None:
        while True:
            job, call, folder = self._queue.get()
            if job is None:
                call()
                continue
            try:
                with open_store(self.db) as store:
                    call(store, job)
                job.status = "done"
            except Exception as exc:  # the worker must survive any job; the page says what broke
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
                job.detail = "the job failed; the articles ingested before the failure are kept"
            finally:
                job.finished = _now()
                bump_generation()
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)


def _analysed(analyse: Callable[[SQLiteStore], object]) -> Callable[[SQLiteStore], None]:
    """``analyse``, then the search caches rebuilt here rather than in the next search request."""
    def run(store: SQLiteStore) -> None:
        from ..search import warm
        analyse(store)
        warm(store)
    return run


def _default_analyse(store: SQLiteStore) -> None:
    from ..briefing import analyse
    analyse(store)


def _story_members(store) -> list[tuple[str, set[str]]]:
    from ..records import Story
    return [(s.id, set(s.article_ids)) for s in store.get_records("stories", Story)]


def safe_name(name: str) -> str:
    """A file name without folders or odd characters, keeping the extension ingest reads."""
    base = Path(str(name).replace("\\", "/")).name or "upload.txt"
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in base).lstrip(".")
    return cleaned[-100:] or "upload.txt"
