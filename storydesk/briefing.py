"""Assemble the briefing (schema_version 1) from the store, validate and render it."""
from __future__ import annotations

import datetime as dt
import functools
import json
from importlib import resources
from typing import Optional

from . import pipeline
from .errors import ConfigError, StorydeskError
from .records import AnalysisError, Article, Briefing, Flag
from .search import update_index

FORMATS = ("json", "md", "html")


def analyse(store, names: Optional[list[str]] = None, force: bool = False, jobs: Optional[int] = None,
            progress: Optional[bool] = None, executor=None):
    """Bring the analysis up to date (only what is new or changed); return the engine's report.

    The search index follows: only sentences of articles not indexed yet are added.
    """
    from . import engine

    report = engine.run(store, stages=names, force=force, jobs=jobs, progress=progress, executor=executor)
    update_index(store)
    return report


def build_briefing(store, story_id: Optional[str] = None) -> Briefing:
    """Collect everything stored about one story (or the whole store) into a Briefing."""
    from .queries import find_story

    kinds = [k for k in Briefing.__dataclass_fields__ if k in pipeline.known_kinds() - {"articles"}]
    sid = find_story(store, story_id).id if story_id is not None else None
    sections = {k: store.get_records(k, pipeline.record_class(k), story_id=sid) for k in kinds}
    if sid is None:
        articles = store.articles()
    else:
        articles = store.articles(sections["stories"][0].article_ids)
    errors = store.get_records("analysis_errors", AnalysisError, story_id=sid)
    _flag_failed(articles, errors)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return Briefing(generated_at=now, articles=articles, analysis_errors=errors, **sections)


def _flag_failed(articles: list[Article], errors: list[AnalysisError]) -> None:
    """An article some stage failed on carries an ``analysis_error`` flag (its results are missing)."""
    by_id = {a.id: a for a in articles}
    for err in errors:
        if err.article_id in by_id:
            by_id[err.article_id].flags.append(Flag("analysis_error", f"{err.stage}: {err.error}: {err.message}"))


def write_story_briefings(store, directory: str, fmt: str, since: Optional[str] = None) -> list[str]:
    """Write one briefing per story (largest first) into ``directory``; return the paths."""
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stories = sorted(_stored(store, "stories"), key=lambda s: (-len(s.article_ids), s.id))
    paths = []
    for n, story in enumerate(stories, 1):
        briefing = build_briefing(store, story.id)
        if since:
            briefing = update_summary(briefing, since)
        path = out / f"{n:02d}-{story.id}.{fmt}"
        path.write_text(render(briefing, fmt), encoding="utf-8")
        paths.append(str(path))
    return paths


def update_summary(briefing: Briefing, since: str, budget_words: int = 150) -> Briefing:
    """Update mode: every section keeps only what is new in articles published after ``since`` (ISO date)."""
    from .update import since_briefing

    return since_briefing(briefing, since, budget_words)


def _stored(store, kind: str) -> list:
    return store.get_records(kind, pipeline.record_class(kind))


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files("storydesk.schema").joinpath("briefing.schema.json").read_text("utf-8"))


def validate(document: dict) -> None:
    """Raise StorydeskError if ``document`` does not follow the briefing schema."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(document), key=lambda e: e.path)
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise StorydeskError(f"briefing does not match schema_version 1 at {where or '(root)'}: "
                             f"{first.message} ({len(errors)} problem(s) in all)")


def render(briefing: Briefing, fmt: str) -> str:
    """The briefing as JSON, Markdown or self-contained HTML."""
    if fmt == "json":
        document = briefing.to_dict()
        validate(document)
        return json.dumps(document, ensure_ascii=False, indent=2)
    if fmt == "md":
        from .render.markdown import render_markdown
        return render_markdown(briefing)
    if fmt == "html":
        from .render.html import render_html
        return render_html(briefing)
    raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
