"""Stage registry and runner (after spaCy's components).

A stage is a function ``f(analysis) -> {kind: [records]}`` registered with the
kinds it needs and the kinds (with their record class) it adds. The runner
orders stages by those declarations, checks every return value, and writes
the records to the store, so a later command can read them without re-running.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .errors import PipelineError
from .records import Article, Record
from .store import SQLiteStore

StageFunc = Callable[["Analysis"], dict[str, list[Record]]]


@dataclass(frozen=True)
class StageSpec:
    name: str
    func: StageFunc
    needs: tuple[str, ...]
    adds: dict[str, type]


REGISTRY: dict[str, StageSpec] = {}


def stage(name: str, needs: tuple[str, ...] = (), adds: Optional[dict[str, type]] = None):
    """Register ``func`` as the stage ``name``."""
    def register(func: StageFunc) -> StageFunc:
        if name in REGISTRY:
            raise PipelineError(f"stage {name!r} is registered twice; rename one of them")
        REGISTRY[name] = StageSpec(name, func, tuple(needs), dict(adds or {}))
        return func
    return register


@dataclass
class Analysis:
    """What stages read and write during one run."""

    store: SQLiteStore
    articles: list[Article]
    results: dict[str, list[Record]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # shared expensive work (parsed docs, embeddings)
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, kind: str) -> list[Record]:
        """Records of ``kind`` from this run, else from the store."""
        if kind == "articles":
            return self.articles
        if kind not in self.results:
            self.results[kind] = self.store.get_records(kind, record_class(kind))
        return self.results[kind]

    def article(self, article_id: str) -> Article:
        if "_by_id" not in self.cache:
            self.cache["_by_id"] = {a.id: a for a in self.articles}
        return self.cache["_by_id"][article_id]


def record_class(kind: str) -> type:
    """The record class a registered stage declared for ``kind``."""
    for spec in REGISTRY.values():
        if kind in spec.adds:
            return spec.adds[kind]
    raise PipelineError(f"no stage adds {kind!r}; known kinds: {sorted(known_kinds())}")


def known_kinds() -> set[str]:
    return {"articles"} | {k for spec in REGISTRY.values() for k in spec.adds}


def plan(names: Optional[list[str]] = None) -> list[StageSpec]:
    """Order the requested stages (default: all) so needs come before use."""
    wanted = list(REGISTRY) if names is None else names
    missing = [n for n in wanted if n not in REGISTRY]
    if missing:
        raise PipelineError(f"unknown stage(s) {missing}; known: {sorted(REGISTRY)}")
    ordered, done = [], {"articles"}
    pending = [REGISTRY[n] for n in wanted]
    while pending:
        ready = [s for s in pending if all(k in done or not _added_by(k, pending) for k in s.needs)]
        if not ready:
            raise PipelineError(f"stages {[s.name for s in pending]} need each other; fix their needs")
        for spec in ready:
            ordered.append(spec)
            done.update(spec.adds)
            pending.remove(spec)
    return ordered


def _added_by(kind: str, specs: list[StageSpec]) -> bool:
    return any(kind in s.adds for s in specs)


def run(store: SQLiteStore, names: Optional[list[str]] = None, **options: Any) -> Analysis:
    """Run stages over every stored article and save what they add."""
    analysis = Analysis(store=store, articles=store.articles(), options=options)
    for spec in plan(names):
        for kind in spec.needs:
            if kind not in known_kinds():
                raise PipelineError(f"stage {spec.name!r} needs {kind!r}, which no stage adds")
        out = spec.func(analysis)
        _check(spec, out)
        for kind, records in out.items():
            analysis.results[kind] = records
            store.replace_records(kind, records)
    return analysis


def _check(spec: StageSpec, out: Any) -> None:
    if not isinstance(out, dict) or set(out) != set(spec.adds):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise PipelineError(f"stage {spec.name!r} must return {sorted(spec.adds)}, returned {got}")
    for kind, records in out.items():
        cls = spec.adds[kind]
        bad = [r for r in records if not isinstance(r, cls)]
        if not isinstance(records, list) or bad:
            raise PipelineError(f"stage {spec.name!r} returned a non-{cls.__name__} in {kind!r}")
