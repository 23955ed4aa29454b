"""Read-only views of the store for the CLI and the web app: they never compute or write.

What is not analysed yet is simply not there; :func:`pending` says how much is missing
so a command can tell the user to run ``storydesk analyze``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, TypeVar

from .errors import NotFound
from .records import AnalysisError, Article, Entity, Quote, SourceGroup, Story

S = TypeVar("S")


def stories(store) -> list[Story]:
    """Stored stories, in order of creation."""
    return store.get_records("stories", Story)


def one_story(items: Iterable[S], story_id: str) -> S:
    """The one item (a Story, or any row with an ``id``) whose id starts with ``story_id``;
    NotFound unless exactly one does."""
    hits = [s for s in items if s.id.startswith(story_id)]
    if len(hits) != 1:
        raise NotFound(f"{'no story' if not hits else 'more than one story'} matches id {story_id!r}")
    return hits[0]


def find_story(store, story_id: str) -> Story:
    """The stored story whose id starts with ``story_id``; NotFound unless exactly one does."""
    try:
        return one_story(stories(store), story_id)
    except NotFound as exc:
        raise NotFound(f"{exc} in {store.path}; list them with `storydesk stories` "
                       "(run `storydesk analyze` first if the list is empty)") from None


def story_articles(store, story: Story) -> list[Article]:
    return store.articles(story.article_ids)


def story_of(items: Iterable[Story]) -> dict[str, str]:
    """Article id -> the id of its story (the first that lists it)."""
    out: dict[str, str] = {}
    for s in items:
        for aid in s.article_ids:
            out.setdefault(aid, s.id)
    return out


def entities(store, story_id: Optional[str] = None) -> list[Entity]:
    """Stored entities (of one story, or of every story)."""
    sid = find_story(store, story_id).id if story_id else None
    return store.get_records("entities", Entity, story_id=sid)


def quotes(store, speaker: Optional[str] = None, story_id: Optional[str] = None) -> list[Quote]:
    """Stored quotes, filtered by story and by speaker name (or entity id)."""
    sid = find_story(store, story_id).id if story_id else None
    found = store.get_records("quotes", Quote, story_id=sid)
    if speaker:
        want = speaker.casefold()
        found = [q for q in found if q.speaker and (want in q.speaker.text.casefold()
                                                     or (q.speaker.entity_id or "") == speaker)]
    return found


def source_groups(store, story_id: str) -> list[SourceGroup]:
    return store.get_records("source_groups", SourceGroup, story_id=find_story(store, story_id).id)


def errors(store, story_id: Optional[str] = None) -> list[AnalysisError]:
    """Stored analysis failures (of one story, or all, per-article ones included)."""
    if story_id is None:
        return store.get_records("analysis_errors", AnalysisError)
    sid = find_story(store, story_id).id
    return store.get_records("analysis_errors", AnalysisError, story_id=sid)


@dataclass
class Pending:
    """How far the stored analysis is behind the stored articles."""

    articles: int
    unassigned: int  # articles in no story yet
    stories_stale: int  # stories whose analysis is older than their articles

    @property
    def up_to_date(self) -> bool:
        return not (self.unassigned or self.stories_stale)


def pending(store) -> Pending:
    """What ``analyze`` would still have to do (cheap: ids and fingerprints only)."""
    from . import engine, pipeline
    specs = [s for s in pipeline.plan() if s.scope == "story"]
    version = engine.story_version(specs, {})
    items = stories(store)
    assigned = {aid for s in items for aid in s.article_ids}
    done = store.story_fingerprints()
    stale = sum(done.get(s.id) != engine.fingerprint(s, version) for s in items)
    ids = store.article_ids()
    return Pending(len(ids), sum(i not in assigned for i in ids), stale)
