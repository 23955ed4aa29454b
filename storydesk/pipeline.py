"""Stage registry and plan (after spaCy's components).

A stage declares what it ``needs`` (kinds it cannot run without), what it ``wants``
(kinds it uses when present) and what it ``adds`` (kinds with their record class).
Two scopes:

- ``scope="store"``: runs once over the articles new to the store and keeps its own
  incremental state (story clustering). Signature ``f(store, articles) -> {kind: [records]}``.
- ``scope="story"``: runs on one story at a time. Signature ``f(analysis) -> {kind: [records]}``
  where ``analysis`` holds that story's articles and the kinds declared upstream.

The registry loads every stage module itself (:mod:`storydesk.analysis`), and the plan
orders stages by their declarations with ties broken by name, so it never depends on
which module was imported first. :mod:`storydesk.engine` runs the plan.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .errors import PipelineError
from .records import AnalysisError, Article, Record, Story

StageFunc = Callable[..., dict[str, list[Record]]]
SCOPES = ("store", "story")


@dataclass(frozen=True)
class StageSpec:
    name: str
    func: StageFunc
    needs: tuple[str, ...]
    adds: dict[str, type]
    wants: tuple[str, ...] = ()
    scope: str = "story"
    version: str = "1"  # bump when the stage's output changes for the same input


REGISTRY: dict[str, StageSpec] = {}


def stage(name: str, needs: tuple[str, ...] = (), adds: Optional[dict[str, type]] = None,
          wants: tuple[str, ...] = (), scope: str = "story", version: str = "1"):
    """Register ``func`` as the stage ``name``."""
    if scope not in SCOPES:
        raise PipelineError(f"stage {name!r}: scope must be one of {SCOPES}, not {scope!r}")

    def register(func: StageFunc) -> StageFunc:
        if name in REGISTRY and REGISTRY[name].func is not func:
            raise PipelineError(f"stage {name!r} is registered twice; rename one of them")
        REGISTRY[name] = StageSpec(name, func, tuple(needs), dict(adds or {}), tuple(wants), scope, version)
        return func
    return register


def registry() -> dict[str, StageSpec]:
    """Every stage, with the stage modules loaded (whatever was imported before)."""
    from . import analysis
    analysis.load()
    return REGISTRY


@dataclass
class Analysis:
    """What one story's stages read and write during a run.

    ``articles`` are the story's articles in arrival order; ``results`` the kinds made so
    far in this run; ``cache`` shared expensive work (parsed docs, vectors, verdicts);
    ``state`` persisted per-story blobs a stage may read and replace; ``errors`` the
    failures to report; ``updated`` articles whose metadata a stage changed.
    ``store`` is only set for direct calls from tests and scripts; the engine leaves it None.
    """

    store: Any = None
    articles: list[Article] = field(default_factory=list)
    results: dict[str, list[Record]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    story: Optional[Story] = None
    state: dict[str, bytes] = field(default_factory=dict)
    state_out: dict[str, bytes] = field(default_factory=dict)
    errors: list[AnalysisError] = field(default_factory=list)
    updated: dict[str, Article] = field(default_factory=dict)
    spec: Optional[StageSpec] = None

    def get(self, kind: str) -> list:
        """Records of ``kind``: declared by the running stage, made upstream in this run."""
        if self.spec is not None and kind not in self.spec.needs + self.spec.wants + ("articles",):
            raise PipelineError(f"stage {self.spec.name!r} reads {kind!r} without declaring it; "
                                "add it to the stage's needs or wants")
        if kind == "articles":
            return self.articles
        if kind in self.results:
            return self.results[kind]
        if kind == "stories" and self.story is not None:
            return [self.story]
        if self.spec is None and self.store is not None and kind in known_kinds():
            self.results[kind] = self.store.get_records(kind, record_class(kind))
            return self.results[kind]
        return []

    def want(self, kind: str) -> list:
        """Like :meth:`get`; for kinds a stage can do without."""
        return self.get(kind)

    def article(self, article_id: str) -> Article:
        if "_by_id" not in self.cache:
            self.cache["_by_id"] = {a.id: a for a in self.articles}
        return self.cache["_by_id"][article_id]

    def groups(self) -> list[list[str]]:
        """Article ids per story: this story, or the stories given, else all articles as one."""
        ids = [a.id for a in self.articles]
        stories = self.get("stories") if "stories" in self._readable() else []
        if not stories:
            return [ids] if ids else []
        known = set(ids)
        groups = [[i for i in s.article_ids if i in known] for s in stories]
        covered = {i for g in groups for i in g}
        return [g for g in groups if g] + [[i] for i in ids if i not in covered]

    def _readable(self) -> tuple[str, ...]:
        return ("stories",) if self.spec is None else self.spec.needs + self.spec.wants

    def fail(self, exc: BaseException, article_id: Optional[str] = None) -> None:
        """Record that the running stage failed (on one article, or on the whole story)."""
        stage_name = self.spec.name if self.spec else "?"
        story_id = self.story.id if self.story else ""
        self.errors.append(AnalysisError.make(stage_name, story_id, article_id, exc,
                                              traceback.format_exc(limit=-3)))


def record_class(kind: str) -> type:
    """The record class a registered stage declared for ``kind``."""
    for spec in registry().values():
        if kind in spec.adds:
            return spec.adds[kind]
    if kind == "analysis_errors":
        return AnalysisError
    raise PipelineError(f"no stage adds {kind!r}; known kinds: {sorted(known_kinds())}")


def known_kinds() -> set[str]:
    from .work import ARTICLE_KINDS
    return {"articles", *ARTICLE_KINDS} | {k for spec in registry().values() for k in spec.adds}


def plan(names: Optional[list[str]] = None) -> list[StageSpec]:
    """Order the requested stages (default: all) so needs come before use; ties by name."""
    reg = registry()
    wanted = sorted(reg) if names is None else list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in reg]
    if missing:
        raise PipelineError(f"unknown stage(s) {missing}; known: {sorted(reg)}")
    wanted = _with_upstream(wanted, reg)
    for name in wanted:
        for kind in reg[name].needs:
            if kind not in known_kinds():
                raise PipelineError(f"stage {name!r} needs {kind!r}, which no stage adds")
    ordered: list[StageSpec] = []
    done = {"articles"}
    pending = sorted((reg[n] for n in wanted), key=lambda s: (SCOPES.index(s.scope), s.name))
    while pending:
        ready = [s for s in pending
                 if all(k in done or not _added_by(k, pending) for k in s.needs + s.wants)]
        if not ready:
            raise PipelineError(f"stages {[s.name for s in pending]} need each other; fix their needs")
        spec = ready[0]
        ordered.append(spec)
        done.update(spec.adds)
        pending.remove(spec)
    return ordered


def _with_upstream(names: list[str], reg: dict[str, StageSpec]) -> list[str]:
    """``names`` plus every stage that adds a kind one of them needs (transitively)."""
    out, todo = list(names), list(names)
    while todo:
        for kind in reg[todo.pop()].needs:
            for spec in reg.values():
                if kind in spec.adds and spec.name not in out:
                    out.append(spec.name)
                    todo.append(spec.name)
    return out


def _added_by(kind: str, specs: list[StageSpec]) -> bool:
    return any(kind in s.adds for s in specs)


def check_output(spec: StageSpec, out: Any) -> None:
    """Raise PipelineError unless ``out`` holds exactly the declared kinds and record classes."""
    if not isinstance(out, dict) or set(out) != set(spec.adds):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise PipelineError(f"stage {spec.name!r} must return {sorted(spec.adds)}, returned {got}")
    for kind, records in out.items():
        cls = spec.adds[kind]
        if not isinstance(records, list) or any(not isinstance(r, cls) for r in records):
            raise PipelineError(f"stage {spec.name!r} returned a non-{cls.__name__} in {kind!r}")


def run(store, names: Optional[list[str]] = None, **options: Any) -> Analysis:
    """Run the stages (default: all) over the store with the engine; return what they hold.

    Kept for scripts and tests: the returned Analysis has every stored record of the
    kinds the stages add, across stories.
    """
    from . import engine

    engine.run(store, stages=names, jobs=options.pop("jobs", 1), progress=False, options=options)
    analysis = Analysis(store=store, articles=store.articles(), options=options)
    for spec in plan(names):
        for kind, cls in spec.adds.items():
            analysis.results[kind] = store.get_records(kind, cls)
    return analysis
