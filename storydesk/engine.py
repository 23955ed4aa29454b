"""The incremental analysis engine.

Three phases, each resumable after a kill because each writes its results in small
transactions:

1. **Per-article work** (a spaCy parse, sentence vectors): done once per article and
   stored under a version that names the model and rules, so a new model redoes it.
   Runs in worker processes, batches of articles at a time.
2. **Store stages** (story clustering): stream the articles new to the store into
   their persisted state; an article keeps its story.
3. **Per-story stages** (provenance, entities, quotes, dating, timeline, claims,
   summary): re-run only for stories whose fingerprint (member ids + versions of every
   stage, rule file and model) changed, each story in one job, its records replaced in
   one transaction. Stories are independent, so an incremental run equals a run from
   scratch in the same arrival order.

A failure in one article's or one story's work becomes an :class:`AnalysisError`
record; the rest is stored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Callable, Iterable, Iterator, Optional

from . import __version__, pipeline, work
from .records import AnalysisError, Article, Story
from .cluster import SerialExecutor

ENGINE_VERSION = "2"
ERRORS_KIND = "analysis_errors"
ARTICLE_BATCH = 16


@dataclass
class RunReport:
    """What one ``analyze`` did."""

    articles: int = 0  # articles in the store
    worked: int = 0  # articles whose per-article work ran
    new_articles: int = 0  # articles the store stages saw for the first time
    stories: int = 0
    stories_run: int = 0
    errors: list[AnalysisError] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0

    @property
    def did_anything(self) -> bool:
        return bool(self.worked or self.new_articles or self.stories_run)


# -- executors -----------------------------------------------------------
class ProcessExecutor:
    """Run jobs in ``jobs`` worker processes (results in completion order).

    On Linux, in a process with one thread and no ONNX session yet (the CLI), the workers
    are forked from this process after ``preload`` ran here, so
    the modules and the spaCy model are loaded once, not once per worker (spawned
    workers spent about 4 CPU-seconds each importing and loading before their first
    article: most of the cost of adding ten articles). Elsewhere they are spawned.
    """

    def __init__(self, jobs: int, preload: Iterable[Callable[[], object]] = ()):
        import multiprocessing as mp
        self.jobs = self.workers = jobs
        method = "fork" if _fork_safe() else "spawn"
        if method == "fork":
            for load in preload:
                load()
        self.pool = mp.get_context(method).Pool(jobs, initializer=_worker_init)

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        return self.pool.imap_unordered(fn, items)

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


def _fork_safe() -> bool:
    """Fork only a plain one-thread process holding no ONNX session: a forked copy of
    another thread's lock (a web server's, say) or of a session's thread pool deadlocks."""
    import threading
    from .models import embeddings, judge
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and embeddings._model is None and judge._judge is None)


def _worker_init() -> None:
    os.environ.setdefault("STORYDESK_ONNX_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work.forget_process_state()


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


# -- versions and fingerprints --------------------------------------------
@lru_cache(maxsize=1)
def rules_digest() -> str:
    """A digest of every vocabulary file: a changed rule set re-runs the stories."""
    h = hashlib.sha1()
    for entry in sorted(resources.files("storydesk.data").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            h.update(entry.name.encode())
            h.update(entry.read_bytes())
    return h.hexdigest()[:12]


def story_version(specs: list[pipeline.StageSpec], options: dict) -> str:
    parts = [ENGINE_VERSION, __version__, rules_digest(), work.models_version(),
             ",".join(f"{s.name}:{s.version}" for s in specs), repr(sorted(options.items()))]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def fingerprint(story: Story, version: str) -> str:
    return hashlib.sha1((version + "|" + ",".join(story.article_ids)).encode()).hexdigest()[:20]


# -- the run ----------------------------------------------------------------
def run(store, *, stages: Optional[list[str]] = None, jobs: Optional[int] = None, executor=None,
        progress: Optional[bool] = None, options: Optional[dict] = None, force: bool = False) -> RunReport:
    """Bring the stored analysis up to date with the stored articles; return what was done.

    Args:
        store: an open store (its ``path`` is handed to worker processes).
        stages: stage names to run (default: all).
        jobs: worker processes (default: the number of cores; 1 = this process only).
        executor: anything with ``map(fn, items)`` (e.g. a Dask executor); overrides ``jobs``.
        progress: show progress bars (default: when stderr is a terminal).
        options: stage options (e.g. ``summary_words``); part of the fingerprint.
        force: re-run every story and redo per-article work.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    options = dict(options or {})
    specs = pipeline.plan(stages)
    story_specs = [s for s in specs if s.scope == "story"]
    report = RunReport(articles=store.article_count())
    show = sys.stderr.isatty() if progress is None else progress
    keys = work.keys_for(story_specs)
    if force:
        store.delete_work(keys)
        store.delete_facts()
    missing = {k: store.ids_without_work(k, work.version(k)) for k in keys}
    todo = list(dict.fromkeys(i for k in keys for i in missing[k]))
    own = executor is None
    executor = executor or _executor(store, jobs, len(todo), parse=bool(missing.get("doc")))
    try:
        report.worked = _article_phase(store, missing, todo, executor, show, report)
        report.new_articles = _store_phase(store, [s for s in specs if s.scope == "store"], show)
        # Few new articles but many stories to re-run (a new rule set, say): workers pay again.
        widen = (lambda n: _executor(store, jobs, n)) if own and isinstance(executor, SerialExecutor) else None
        _story_phase(store, story_specs, options, executor, show, force, report, widen)
    finally:
        if own:
            executor.close()
    report.wall, report.cpu = time.perf_counter() - t0, time.process_time() - c0
    return report


def _executor(store, jobs: Optional[int], size: int, parse: bool = False):
    jobs = default_jobs() if jobs is None else max(1, jobs)
    # Starting a worker costs a model load: not worth it for a few articles.
    if jobs == 1 or size < 4 * jobs or getattr(store, "path", ":memory:") == ":memory:":
        return SerialExecutor()
    from .models import nlp
    return ProcessExecutor(jobs, preload=([nlp.get_nlp] if parse else []) + [_preload_modules])


def _preload_modules() -> None:
    """Import what every story job imports, once before the workers fork rather than once in
    each (the stage modules, and datasketch with scipy: about 1 CPU-s per worker)."""
    pipeline.registry()
    import datasketch  # noqa: F401


def _bar(show: bool, total: int, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="art" if "article" in desc else "story", disable=not show,
                file=sys.stderr, leave=True, dynamic_ncols=True)


# -- phase 1: per-article work ------------------------------------------------
def _article_phase(store, missing: dict[str, list[str]], todo: list[str], executor, show: bool,
                   report: RunReport) -> int:
    if not todo:
        return 0
    lacking = {k: set(ids) for k, ids in missing.items()}
    # At least one batch per worker: ten new articles in one batch kept the other worker idle.
    size = max(1, min(ARTICLE_BATCH, -(-len(todo) // max(1, getattr(executor, "workers", 1)))))
    batches = []
    for i in range(0, len(todo), size):
        ids = todo[i:i + size]
        # Each key only for the articles that lack it: new vectors do not re-parse.
        batches.append((store.path, ids, {k: [a for a in ids if a in have] for k, have in lacking.items()}))
    with _bar(show, len(todo), "per-article work (parse, vectors)") as bar:
        for result in executor.map(work.article_job, batches):
            work.save(store, result)
            report.errors += result.errors
            bar.update(len(result.article_ids))
    return len(todo)


# -- phase 2: store stages (story clustering) ------------------------------------
def _store_phase(store, specs, show: bool) -> int:
    seen = 0
    for spec in specs:
        with _bar(show, 0, f"{spec.name} (new articles)") as bar:
            counter = _Counter(bar)
            out = spec.func(store, counter)
            pipeline.check_output(spec, out)
            seen = max(seen, counter.n)
        with store.transaction():
            for kind, records in out.items():
                for rec in records:
                    store.put_records(kind, [rec], story_id=getattr(rec, "id", None) if kind == "stories" else None)
    return seen


class _Counter:
    """Counts what a store stage reports, and forwards it to the progress bar."""

    def __init__(self, bar):
        self.bar, self.n = bar, 0

    def update(self, n: int) -> None:
        self.n += n
        self.bar.update(n)


# -- phase 3: per-story stages ----------------------------------------------------
@dataclass
class StoryJob:
    db: str
    story: Story
    stages: list[str]
    options: dict
    fingerprint: str


@dataclass
class StoryOutcome:
    story_id: str
    fingerprint: str
    records: dict[str, list] = field(default_factory=dict)
    updated: list[Article] = field(default_factory=list)
    state: dict[str, bytes] = field(default_factory=dict)
    vectors: dict[str, bytes] = field(default_factory=dict)
    facts: dict[str, bytes] = field(default_factory=dict)  # per-article facts computed (work.kept)
    errors: list[AnalysisError] = field(default_factory=list)


def _story_phase(store, specs, options, executor, show: bool, force: bool, report: RunReport,
                 widen: Optional[Callable[[int], object]] = None) -> None:
    if not specs:
        return
    version = story_version(specs, options)
    stories = store.get_records("stories", Story)
    report.stories = len(stories)
    done = {} if force else store.story_fingerprints()
    jobs = [StoryJob(store.path, s, [sp.name for sp in specs], options, fingerprint(s, version))
            for s in stories]
    jobs = [j for j in jobs if done.get(j.story.id) != j.fingerprint]
    # Largest first, so the longest job does not start last.
    jobs.sort(key=lambda j: -len(j.story.article_ids))
    kinds = sorted({k for sp in specs for k in sp.adds} | {ERRORS_KIND})
    wide = widen(len(jobs)) if widen and jobs else None
    try:
        with _bar(show, len(jobs), "per-story stages") as bar:
            for outcome in (wide or executor).map(story_job, jobs):
                _save_story(store, outcome, kinds)
                report.errors += outcome.errors
                report.stories_run += 1
                bar.update(1)
    finally:
        if wide is not None:
            wide.close()


def _save_story(store, outcome: StoryOutcome, kinds: list[str]) -> None:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with store.transaction():
        store.delete_story_records(outcome.story_id, kinds)
        for kind, records in outcome.records.items():
            store.put_records(kind, records, story_id=outcome.story_id)
        store.put_records(ERRORS_KIND, outcome.errors, story_id=outcome.story_id)
        for article in outcome.updated:
            store.update_article(article)
        for name, blob in outcome.state.items():
            store.put_state(name, blob)
        if outcome.vectors:
            store.put_vectors(outcome.vectors)
        if outcome.facts:
            store.put_facts(outcome.facts)
        store.put_story_run(outcome.story_id, outcome.fingerprint, now)


def story_job(job: StoryJob) -> StoryOutcome:
    """Run the per-story stages on one story (in a worker, reading the store)."""
    store = work.reader(job.db)
    articles = store.articles(job.story.article_ids)
    analysis = pipeline.Analysis(articles=articles, story=job.story, options=dict(job.options))
    analysis.results["stories"] = [job.story]
    work.prepare(store, analysis, job.stages)
    outcome = StoryOutcome(job.story.id, job.fingerprint)
    reg = pipeline.registry()
    with work.fact_scope(store) as facts:
        for name in job.stages:
            _run_stage(reg[name], analysis, outcome)
    outcome.facts = facts.new
    analysis.spec = None
    outcome.updated = list(analysis.updated.values())
    prefix = work.state_prefix(job.story.id)
    outcome.state = {prefix + name: blob for name, blob in analysis.state_out.items()}
    outcome.vectors = work.new_vectors(analysis)
    outcome.errors = analysis.errors
    return outcome


def _run_stage(spec: pipeline.StageSpec, analysis: pipeline.Analysis, outcome: StoryOutcome) -> None:
    analysis.spec = spec
    try:
        out = spec.func(analysis)
        pipeline.check_output(spec, out)
    except Exception as exc:  # one story's failure must not stop the others
        analysis.fail(exc)
        out = {kind: [] for kind in spec.adds}
    analysis.results.update(out)
    outcome.records.update(out)


def errors(store, story_id: Optional[str] = None) -> list[AnalysisError]:
    """Stored analysis errors (all, or one story's)."""
    return store.get_records(ERRORS_KIND, AnalysisError, story_id=story_id)


__all__ = ["run", "RunReport", "SerialExecutor", "ProcessExecutor", "story_job", "errors"]
