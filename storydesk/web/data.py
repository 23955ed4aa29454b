"""What the pages and the API read: one in-memory snapshot of the stored analysis.

Reading every record kind for each request would cost seconds on a large store,
so a :class:`Snapshot` (story rows, article -> story, the spans to mark in each
article) is built once per store state and shared between requests. The state (article
count, record count and last rowid, and a generation the server bumps after each
background job) is counted again only when SQLite says another connection wrote
(see :func:`store_state`). Nothing here writes to the store.
"""
from __future__ import annotations

import functools
import gc
import json
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

from .. import pipeline, queries
from ..briefing import build_briefing
from ..records import Briefing
from ..search import is_sqlite
from ..render import parse_when

_LOCK = threading.Lock()
_SNAPSHOTS: dict[str, "Snapshot"] = {}
_GENERATION = {"n": 0}
_FREEZES = {"n": 0}
BRIEFING_CACHE = 64  # story briefings kept per snapshot


def bump_generation() -> None:
    """Called after a background job wrote to the store, so the next read rebuilds."""
    with _LOCK:
        _GENERATION["n"] += 1


STATE_TTL = 1.0  # seconds a counted state is trusted on PostgreSQL (counting 185k records costs 10 ms)
_CHECKED: dict[str, tuple[float, tuple]] = {}
_SEEN: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # SQLite store -> (data_version, state)


def store_state(store) -> tuple:
    """What the snapshot depends on: article and record counts and last rowids, and the generation
    this server bumps after each of its jobs (their writes show at once).

    On SQLite, ``PRAGMA data_version`` tells a connection, at no cost, whether another connection
    (the job thread, a shell's `storydesk analyze`) committed since it last asked, so the counts are
    taken again only after a write. PostgreSQL has no such counter: a counted state is trusted for
    STATE_TTL seconds."""
    generation = _GENERATION["n"]
    if is_sqlite(store):
        version = store.db.execute("PRAGMA data_version").fetchone()[0]
        with _LOCK:
            seen = _SEEN.get(store)
        if seen and seen[0] == version and seen[1][-1] == generation:
            return seen[1]
        state = _counted(store, generation)
        with _LOCK:
            _SEEN[store] = (version, state)
        return state
    now = time.monotonic()
    with _LOCK:
        checked = _CHECKED.get(store.path)
    if checked and now - checked[0] < STATE_TTL and checked[1][-1] == generation:
        return checked[1]
    state = _counted(store, generation)
    with _LOCK:
        _CHECKED[store.path] = (now, state)
    return state


def _counted(store, generation: int) -> tuple:
    arts = store.db.execute("SELECT count(*), max(seq) FROM articles").fetchone()
    recs = store.db.execute("SELECT count(*), max(rowid) FROM records").fetchone()
    return (*arts, *recs, generation)


@dataclass
class StoryRow:
    id: str
    label: str
    first_seen: Optional[str]
    last_seen: Optional[str]
    articles: int
    sources: int
    disputed: int
    outlets: list[str]
    flags: list[str]
    entities: set[str] = field(default_factory=set)  # entity ids and folded names

    def to_dict(self) -> dict:
        keys = ("id", "label", "first_seen", "last_seen", "articles", "sources", "disputed", "outlets", "flags")
        return {k: getattr(self, k) for k in keys}


@dataclass
class Mark:
    """A span to mark in an article's text: a quote, a claim, a dated event, reused text."""

    start: int
    end: int
    kind: str  # quote | speaker | claim | event | timex | reused | reuses | mention | summary
    label: str
    href: Optional[str] = None  # the other side (a reused sentence's counterpart, the story section)


@dataclass
class Snapshot:
    state: tuple
    stories: list[StoryRow]
    story_of: dict[str, str]
    marks: dict[str, list[Mark]]
    entities: dict[str, Entity]
    articles_meta: dict[str, dict]
    briefings: "OrderedDict[str, Briefing]" = field(default_factory=OrderedDict)

    @functools.cached_property
    def by_size(self) -> list[StoryRow]:
        """Every story, largest first: sorted once per snapshot, not on every search page."""
        return filter_stories(self.stories, sort="size")

    def briefing(self, store, story_id: str) -> Briefing:
        """The story's briefing (``build_briefing``, cached per snapshot)."""
        with _LOCK:
            if story_id in self.briefings:
                self.briefings.move_to_end(story_id)
                return self.briefings[story_id]
        value = build_briefing(store, story_id)
        with _LOCK:
            self.briefings[story_id] = value
            while len(self.briefings) > BRIEFING_CACHE:
                self.briefings.popitem(last=False)
        _out_of_gc_sight()  # a cached briefing is long-lived too
        return value


def snapshot(store) -> Snapshot:
    state = store_state(store)
    with _LOCK:
        snap = _SNAPSHOTS.get(store.path)
        if snap is not None and snap.state == state:
            return snap
    snap = _build(store, state)
    with _LOCK:
        _SNAPSHOTS[store.path] = snap
    _out_of_gc_sight(full=True)
    return snap


FULL_COLLECT_EVERY = 256  # freezes between two full collections


def _out_of_gc_sight(full: bool = False) -> None:
    """A snapshot is hundreds of thousands of long-lived objects, and a full collection walked
    them all: 0.46 s on a 10k-article store, paid by whichever request triggered it (the p95 of
    every page). Long-lived objects are moved out of the collector's sight (``gc.freeze``; records
    hold no cycles, so refcounting still frees a replaced snapshot or an evicted briefing). With
    ``full`` (a new snapshot, whose request already waited seconds) and every FULL_COLLECT_EVERY
    freezes, everything is handed back and collected first, so cyclic garbage that happened to be
    alive at a freeze is not kept for ever."""
    with _LOCK:
        _FREEZES["n"] += 1
        full = full or _FREEZES["n"] >= FULL_COLLECT_EVERY
        if full:
            _FREEZES["n"] = 0
    if full:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def _build(store, state: tuple) -> Snapshot:
    """Typed records for the lists and the marks, read once per store state."""
    flags = "json_extract(data, '$.flags')" if is_sqlite(store) else "(data::json -> 'flags')::text"
    meta = {row[0]: {"outlet": row[1], "published": row[2], "title": row[3], "flags": json.loads(row[4] or "[]")}
            for row in store.db.execute(f"SELECT id, outlet, published, title, {flags} FROM articles ORDER BY seq")}
    kinds = set(Briefing.__dataclass_fields__) & (pipeline.known_kinds() - {"articles"})
    by_kind = {k: store.get_records(k, pipeline.record_class(k)) for k in kinds}
    stories = by_kind.get("stories", [])
    story_of = queries.story_of(stories)
    rows = _story_rows(stories, by_kind.get("source_groups", []), by_kind.get("claims", []),
                       by_kind.get("entities", []), meta, story_of)
    return Snapshot(state, rows, story_of, _marks(by_kind), {e.id: e for e in by_kind.get("entities", [])}, meta)


def _story_rows(stories, groups, claims, entities, meta, story_of) -> list[StoryRow]:
    n_groups: dict[str, int] = {}
    for g in groups:
        n_groups[g.story_id] = n_groups.get(g.story_id, 0) + 1
    disputed: dict[str, int] = {}
    for c in claims:
        if c.conflicts:
            for sid in {story_of.get(ct.article_id) for ct in c.citations} - {None}:
                disputed[sid] = disputed.get(sid, 0) + 1
    ents: dict[str, set[str]] = {}
    for e in entities:
        for sid in {story_of.get(m.article_id) for m in e.mentions} - {None}:
            ents.setdefault(sid, set()).update((e.id, e.name.casefold()))
    rows = []
    for s in stories:
        arts = [meta[a] for a in s.article_ids if a in meta]
        sources = n_groups.get(s.id, len(arts))
        flags = (["single source"] if sources == 1 else []) + \
            (["date mismatch"] if any(f["kind"] == "date_mismatch" for a in arts for f in a["flags"]) else []) + \
            (["disputed facts"] if disputed.get(s.id) else [])
        outlets = sorted({a["outlet"] for a in arts if a["outlet"]})
        rows.append(StoryRow(s.id, s.label or "Untitled story", s.first_seen, s.last_seen, len(arts), sources,
                             disputed.get(s.id, 0), outlets, flags, ents.get(s.id, set())))
    return rows


def _marks(by_kind: dict[str, list]) -> dict[str, list[Mark]]:
    out: dict[str, list[Mark]] = {}
    claims = by_kind.get("claims", [])

    def add(aid: str, span, kind: str, label: str, href: Optional[str] = None) -> None:
        try:
            start, end = int(span[0]), int(span[1])
        except (TypeError, ValueError, IndexError):
            return
        if 0 <= start < end:
            out.setdefault(aid, []).append(Mark(start, end, kind, label, href))

    for q in by_kind.get("quotes", []):
        who = q.speaker.text if q.speaker and q.speaker.text else "speaker not found"
        add(q.article_id, q.span, "quote", f"quote ({q.kind}), said by {who}")
        if q.speaker and q.speaker.span:
            add(q.article_id, q.speaker.span, "speaker", f"speaker: {who}")
    for c in claims:
        for ct in c.citations:
            add(ct.article_id, ct.span, "claim", "claim: " + (c.label or c.text)[:160]
                + (" (disputed)" if c.conflicts else ""))
    for e in by_kind.get("timeline", []):
        for ct in e.citations:
            add(ct.article_id, ct.span, "event", f"dated event {e.date or 'undated'}: {e.text[:120]}")
    for s in by_kind.get("summary", []):
        for ct in s.citations:
            add(ct.article_id, ct.span, "summary", "cited in the story summary")
    for r in by_kind.get("reuse", []):
        for al in r.alignments:
            add(r.derived_id, al.derived_span, "reused", f"{r.kind.replace('_', ' ')} of another article",
                span_href(r.source_id, al.source_span))
            add(r.source_id, al.source_span, "reuses", f"reused by another article ({r.kind.replace('_', ' ')})",
                span_href(r.derived_id, al.derived_span))
    for aid in out:
        out[aid].sort(key=lambda m: (m.start, -m.end))
    return out


# --------------------------------------------------------------------------- time expressions
def timex_marks(store, article) -> list[Mark]:
    """One ``timex`` mark per time expression of one article, for its page.

    The story stages keep every article's tagging as a ``timex`` fact (``storydesk.analysis.timeline``),
    keyed by the text and the date relative expressions were resolved against: that is read when it
    is there (the article's own date first, then none, as the dating stage tags it); otherwise the
    tagger runs on this one article (linear in its length, a few ms). Marks for every article are
    not kept in the snapshot: tagging a 10k-article store to draw one page would cost minutes."""
    text = article.text or ""
    if not text:
        return []
    dct = _timex_dct(article)
    timexes = _stored_timexes(store, text, dct)
    if timexes is None:
        timexes = _tagged(text, dct)
    out = []
    for t in timexes:
        start, end = int(t.span[0]), int(t.span[1])
        if 0 <= start < end <= len(text):
            value = t.value + (f", {t.mod.lower()}" if t.mod else "")
            out.append(Mark(start, end, "timex", f"time expression ({t.type.lower()} {value})"))
    return out


def _timex_dct(article) -> Optional[str]:
    """The date relative expressions hang on, as the timeline stage decides it (``article_dct``);
    its date check is not at hand here, so the ``date_mismatch`` flag the dating stage leaves on
    the article stands for it."""
    from ..analysis.timeline import article_dct

    if any(f.kind == "date_mismatch" for f in article.flags):
        return None
    return article_dct(article, None)[0]


def _stored_timexes(store, text: str, dct: Optional[str]):
    """The timeline stage's kept tagging of ``text``, or None when no run kept one."""
    from ..analysis.timeline import kept_tags

    try:
        for when in dict.fromkeys([dct, None]):
            found = kept_tags(store, text, when)
            if found is not None:
                return found
    except Exception:  # no model fingerprint to key facts with, an unreadable fact: tag the text instead
        return None
    return None


def _tagged(text: str, dct: Optional[str]) -> tuple:
    from ..analysis.timeline import tagged
    return tagged(text, dct)  # remembered there (lru), as the timeline stage remembers it


def span_href(article_id: str, span) -> str:
    start, end = int(span[0]), int(span[1])
    return f"/articles/{article_id}?span={start}-{end}#span-{start}-{end}"


# --------------------------------------------------------------------------- stories list
SORTS = ("size", "recency", "disagreement")


def filter_stories(rows: list[StoryRow], *, date_from: Optional[str] = None, date_to: Optional[str] = None,
                   outlet: Optional[str] = None, entity: Optional[str] = None, min_sources: int = 0,
                   sort: str = "size") -> list[StoryRow]:
    """Stories matching every filter, sorted by size, recency or disagreement."""
    out = [r for r in rows if r.sources >= min_sources]
    if outlet:
        out = [r for r in out if outlet.casefold() in (o.casefold() for o in r.outlets)]
    if entity:
        key = entity.casefold()
        out = [r for r in out if entity in r.entities or key in r.entities]
    if date_from:
        out = [r for r in out if (r.last_seen or "")[:10] >= date_from]
    if date_to:
        out = [r for r in out if r.first_seen and r.first_seen[:10] <= date_to]
    keys = {"size": lambda r: (-r.articles, -r.sources, r.id),
            "recency": lambda r: (_neg_day(r.last_seen), r.id),
            "disagreement": lambda r: (-r.disputed, -r.articles, r.id)}
    return sorted(out, key=keys.get(sort, keys["size"]))


def _neg_day(value: Optional[str]) -> int:
    when = parse_when((value or "")[:10])
    return -when[0].toordinal() if when else 0


# --------------------------------------------------------------------------- article text
@dataclass
class Segment:
    text: str
    kinds: list[str]
    labels: list[str]
    href: Optional[str]
    anchors: list[str]  # ids placed where this segment starts


def segments(text: str, marks: list[Mark], target: Optional[tuple[int, int]] = None) -> list[Segment]:
    """Cut ``text`` at every mark boundary; each piece knows which marks cover it.

    ``target`` is the span a citation points at; it is marked ``cited`` with the
    anchor ``span-START-END`` so the link lands on it.
    """
    marks = [m for m in marks if m.end <= len(text)]
    if target and 0 <= target[0] < target[1] <= len(text):
        marks = marks + [Mark(target[0], target[1], "cited", "the cited span")]
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    anchors: dict[int, list[str]] = {}
    for m in marks:
        anchors.setdefault(m.start, []).append(f"span-{m.start}-{m.end}")
    out = []
    for a, b in zip(cuts, cuts[1:]):
        cover = [m for m in marks if m.start <= a and b <= m.end]
        href = next((m.href for m in cover if m.href), None)
        out.append(Segment(text[a:b], sorted({m.kind for m in cover}), list(dict.fromkeys(m.label for m in cover)),
                           href, list(dict.fromkeys(anchors.get(a, [])))))
    return out
