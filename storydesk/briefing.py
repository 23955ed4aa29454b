"""Assemble the briefing (schema_version 1) from the store, validate and render it."""
from __future__ import annotations

import datetime as dt
import functools
import json
from importlib import resources
from typing import Optional

from . import pipeline, stages  # noqa: F401  (stages registers every stage)
from .errors import ConfigError, NotFound, StorydeskError
from .records import Briefing, Story
from .search import update_index
from .store import SQLiteStore

FORMATS = ("json", "md", "html")
_ANALYSED = "analysis.articles"


def analyse(store: SQLiteStore, names: Optional[list[str]] = None, force: bool = False) -> bool:
    """Run the pipeline when articles were added since the last run; return whether it ran."""
    marker = f"{store.article_count()}:{','.join(names or sorted(pipeline.REGISTRY))}".encode()
    if not force and store.get_state(_ANALYSED) == marker:
        return False
    pipeline.run(store, names)
    store.put_state(_ANALYSED, marker)
    update_index(store)  # search index: incremental, only what is new
    return True


def build_briefing(store: SQLiteStore, story_id: Optional[str] = None) -> Briefing:
    """Collect everything stored about one story (or the whole store) into a Briefing."""
    kinds = pipeline.known_kinds() - {"articles"}
    sections = {k: _stored(store, k) for k in Briefing.__dataclass_fields__ if k in kinds}
    articles = store.articles()
    if story_id is not None:
        story = _find_story(sections.get("stories", []), story_id)
        ids = set(story.article_ids)
        articles = [a for a in articles if a.id in ids]
        sections = {k: _for_story(recs, story.id, ids) for k, recs in sections.items()}
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return Briefing(generated_at=now, articles=articles, **sections)


def write_story_briefings(store: SQLiteStore, directory: str, fmt: str, since: Optional[str] = None) -> list[str]:
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
    """Replace the summary with what is new in the briefing's articles since ``since`` (ISO date)."""
    from .summary import summarize

    groups = {aid: g.origin_id for g in briefing.source_groups for aid in g.article_ids}
    briefing.summary = summarize(briefing.articles, budget_words=budget_words,
                                 independent_groups=groups or None, since=since)
    return briefing


def _stored(store: SQLiteStore, kind: str) -> list:
    return store.get_records(kind, pipeline.record_class(kind))


def _find_story(stories: list[Story], story_id: str) -> Story:
    matches = [s for s in stories if s.id.startswith(story_id)]
    if len(matches) != 1:
        raise NotFound(f"{'no' if not matches else 'more than one'} story matches {story_id!r}; "
                       "list them with `storydesk stories`")
    return matches[0]


def _for_story(records: list, story_id: str, ids: set[str]) -> list:
    """Keep the records that belong to the story (by story id, else by the articles they cite)."""
    return [rec for rec in records if _belongs(rec, story_id, ids)]


def _belongs(rec, story_id: str, ids: set[str]) -> bool:
    if isinstance(rec, Story):
        return rec.id == story_id
    if getattr(rec, "story_id", None) is not None:
        return rec.story_id == story_id
    return bool(_article_ids(rec.to_dict()) & ids)


def _article_ids(data: dict) -> set[str]:
    found = {data[k] for k in ("article_id", "source_id", "derived_id") if data.get(k)}
    for key in ("citations", "mentions"):
        found |= {c["article_id"] for c in data.get(key, [])}
    return found


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
