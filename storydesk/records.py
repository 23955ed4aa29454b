"""Typed records: one class per concept that travels between stages.

Every record has ``to_dict()`` and ``from_dict()``; dicts only exist at the
edges (storage, JSON output). A span is always ``(start, end)`` character
offsets into the cleaned ``Article.text`` of ``article_id``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import types
import typing
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

SCHEMA_VERSION = 1


def content_id(prefix: str, *parts: str, length: int = 16) -> str:
    """Return a stable id derived from ``parts`` (same content, same id)."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:length]}"


class Record:
    """Mixin giving dataclasses a JSON-shaped round trip."""

    # Fields serialised as [start, end] lists rather than tuples.
    _span_fields: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; nested records are converted too."""
        return {f.name: _dump(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build the record from ``to_dict`` output, ignoring unknown keys."""
        return cls(**{name: load(data[name]) for name, load in _field_loaders(cls) if name in data})


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a record class (resolving them costs more than building the record)."""
    return typing.get_type_hints(cls)


@functools.lru_cache(maxsize=None)
def _field_loaders(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = _hints(cls)
    return tuple((f.name, _loader(hints[f.name])) for f in dataclasses.fields(cls))


def _dump(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_dump(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _same(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=None)
def _loader(hint: Any) -> Callable[[Any], Any]:
    """A function turning JSON-shaped data back into values of ``hint`` (built once per type:
    records read back in bulk, kept facts say, spent most of their time inspecting types)."""
    load = _inner_loader(hint)
    if load is _same:
        return _same
    return lambda value: None if value is None else load(value)


def _inner_loader(hint: Any) -> Callable[[Any], Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # Optional[X], X | None
        inner = [a for a in args if a is not type(None)]
        return _loader(inner[0]) if len(inner) == 1 else _same
    if origin is list:
        item = _loader(args[0]) if args else _same
        return (lambda v: list(v)) if item is _same else (lambda v: [item(x) for x in v])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _loader(args[0])
            return lambda v: tuple(item(x) for x in v)
        if args:
            items = tuple(_loader(a) for a in args)
            return lambda v: tuple(f(x) for f, x in zip(items, v))
        return tuple
    if origin is dict and args:
        item = _loader(args[1])
        return _same if item is _same else (lambda v: {k: item(x) for k, x in v.items()})
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict
    if isinstance(hint, type) and issubclass(hint, Counter):
        return Counter
    if hint is frozenset or origin is frozenset:
        return frozenset
    if hint is set or origin is set:
        return set
    if hint is dt.date:
        return dt.date.fromisoformat
    return _same


Span = tuple[int, int]


@dataclass
class Removal(Record):
    """A piece of input removed by cleaning, kept so nothing is lost."""

    text: str
    reason: str


@dataclass
class Flag(Record):
    """Something a reader should know about a record (e.g. ``non_english``)."""

    kind: str
    detail: str = ""


@dataclass
class Source(Record):
    """Where an article came from."""

    format: str
    path: Optional[str] = None
    url: Optional[str] = None
    entry: Optional[int] = None  # index inside a multi-article file (JSONL line, feed entry, WARC record)


def is_english(language: Optional[str]) -> bool:
    """The one rule for "English enough to analyse": ``en`` or a regional ``en-*``, and an
    unidentified language (``und``, or none given: too little text to tell), which is
    treated as English and flagged ``language_unknown`` at ingest."""
    lang = (language or "und").lower()
    return lang in ("en", "und") or lang.startswith("en-")


@dataclass
class Article(Record):
    """One cleaned news article. ``text`` is what every span points into."""

    id: str
    source: Source
    text: str
    title: Optional[str] = None
    outlet: Optional[str] = None
    authors: list[str] = field(default_factory=list)
    wire: Optional[str] = None
    published: Optional[str] = None  # ISO 8601 date or datetime
    published_basis: str = "unknown"  # metadata | text | inferred | unknown
    language: str = "und"
    removed: list[Removal] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    raw_sha256: Optional[str] = None

    @staticmethod
    def make_id(text: str, outlet: Optional[str]) -> str:
        """Derive the id from the normalised text and the outlet.

        The outlet is part of the identity so that one wire story republished
        by three outlets stays three articles (provenance links them).
        """
        norm = " ".join(text.split()).casefold()
        return content_id("a", (outlet or "").casefold().strip(), norm)

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def is_english(self) -> bool:
        """What the English-only stages read: see :func:`is_english`."""
        return is_english(self.language)

    def has_flag(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.flags)


@dataclass
class Citation(Record):
    """A pointer to the exact evidence for a statement."""

    article_id: str
    span: Span


@dataclass
class Story(Record):
    """Articles grouped by the real-world event they cover."""

    id: str
    label: str
    article_ids: list[str] = field(default_factory=list)
    first_seen: Optional[str] = None
    last_seen: Optional[str] = None


@dataclass
class Alignment(Record):
    """Two sentences aligned between a source and a derived article."""

    source_span: Span
    derived_span: Span
    similarity: float


@dataclass
class Reuse(Record):
    """``derived_id`` copies or rewrites ``source_id``."""

    source_id: str
    derived_id: str
    kind: str  # duplicate | verbatim | near_verbatim | paraphrase
    coverage: float  # share of the derived article's sentences aligned to the source
    direction_basis: str  # e.g. published_time | wire_credit | attribution_cue | unknown
    alignments: list[Alignment] = field(default_factory=list)


@dataclass
class SourceGroup(Record):
    """Articles that share one origin and so count once."""

    story_id: str
    origin_id: str
    article_ids: list[str] = field(default_factory=list)


@dataclass
class Mention(Record):
    article_id: str
    span: Span
    text: str


@dataclass
class Entity(Record):
    """A person, organisation or place with its variants merged."""

    id: str
    name: str
    type: str  # PERSON | ORG | GPE | LOC | NORP ...
    variants: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


@dataclass
class Speaker(Record):
    text: str
    entity_id: Optional[str] = None
    span: Optional[Span] = None


@dataclass
class QuoteMatch(Record):
    quote_id: str
    relation: str  # identical | altered | truncated | speaker_mismatch | misattributed_narration
    diff: Optional[str] = None
    article_id: Optional[str] = None  # the other article (for narration, where there is no quote)
    span: Optional[Span] = None  # the matching span in that article


@dataclass
class Quote(Record):
    id: str
    article_id: str
    span: Span
    text: str
    kind: str  # direct | partial | indirect
    cue: Optional[str] = None
    speaker: Optional[Speaker] = None
    matches: list[QuoteMatch] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


@dataclass
class Claim(Record):
    """A factual statement grouped across sources."""

    id: str
    text: str  # the clearest citing sentence, verbatim
    citations: list[Citation] = field(default_factory=list)
    independent_support: int = 0
    conflicts: list[str] = field(default_factory=list)  # ids of conflicting claims
    flags: list[Flag] = field(default_factory=list)
    label: Optional[str] = None  # what a figure claim counts: "at least 23 deaths in Selm District, 2025-10-23"


@dataclass
class TimelineEvent(Record):
    date: str
    precision: str  # day | week | month | year | unknown
    text: str
    citations: list[Citation] = field(default_factory=list)


@dataclass
class DateCheck(Record):
    """The outcome of checking one article's publication date.

    ``verdict`` is ``ok`` (the stated date fits), ``mismatch`` (it does not),
    ``inferred`` (no date was stated; ``published`` was inferred), ``undetermined``
    (no date and not enough evidence) or ``unchecked`` (nothing to check against).
    ``window`` is the range of publication dates the content allows, ``evidence``
    the spans (in this and other articles) the verdict rests on.
    """

    id: str
    article_id: str
    verdict: str
    stated: Optional[str] = None
    published: Optional[str] = None
    basis: str = "unknown"
    estimate: Optional[str] = None
    window: Optional[list[str]] = None
    detail: str = ""
    evidence: list[Citation] = field(default_factory=list)


@dataclass
class SummarySentence(Record):
    text: str
    citations: list[Citation] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


@dataclass
class AnalysisError(Record):
    """One stage failed on one article (``article_id``) or on a whole story; the rest went on."""

    id: str
    stage: str
    story_id: str = ""
    article_id: Optional[str] = None
    error: str = ""  # the exception's class name
    message: str = ""
    where: str = ""  # the last frames of the traceback, for a bug report

    @classmethod
    def make(cls, stage: str, story_id: str, article_id: Optional[str], exc: BaseException,
             where: str = "") -> "AnalysisError":
        message = str(exc)[:500]
        rid = content_id("e", stage, story_id, article_id or "", type(exc).__name__, message)
        return cls(id=rid, stage=stage, story_id=story_id, article_id=article_id,
                   error=type(exc).__name__, message=message, where=where[-2000:])

    def describe(self) -> str:
        on = f"article {self.article_id}" if self.article_id else f"story {self.story_id}"
        return f"{self.stage} failed on {on}: {self.error}: {self.message}"


@dataclass
class IngestOutcome(Record):
    """What happened to one input (file, or entry inside a file)."""

    path: str
    status: str  # added | present | failed | skipped
    article_id: Optional[str] = None
    reason: Optional[str] = None
    entry: Optional[int] = None


@dataclass
class IngestReport(Record):
    """The outcome of one ingest run, file by file."""

    run_id: str
    outcomes: list[IngestOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[IngestOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


@dataclass
class Briefing(Record):
    """The whole output document (schema_version 1)."""

    generated_at: str
    schema_version: int = SCHEMA_VERSION
    articles: list[Article] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    reuse: list[Reuse] = field(default_factory=list)
    source_groups: list[SourceGroup] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    summary: list[SummarySentence] = field(default_factory=list)
    analysis_errors: list[AnalysisError] = field(default_factory=list)  # work that failed: its results are missing

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        return {"schema_version": data.pop("schema_version"), **data}


@dataclass
class SearchHit(Record):
    """One sentence found by ``storydesk search``; ``span`` points into the article's text.

    ``snippet`` is plain text; ``marks`` are ``[start, end]`` offsets into it of the
    matched words. ``fts_rank``/``vector_rank`` are 1-based ranks in each list (None
    when that list did not find the sentence); ``score`` is their fused score.
    """

    article_id: str
    span: Span
    text: str
    snippet: str
    marks: list[Span] = field(default_factory=list)
    story_id: Optional[str] = None
    outlet: Optional[str] = None
    published: Optional[str] = None
    title: Optional[str] = None
    score: float = 0.0
    fts_rank: Optional[int] = None
    vector_rank: Optional[int] = None


@dataclass
class WatchOutcome(Record):
    """What one poll of one watched source (feed, page URL or folder) found."""

    source: str
    status: str  # new | unchanged | not_modified | failed | blocked
    checked_at: str
    added: list[str] = field(default_factory=list)  # ids of articles ingested this time
    present: int = 0  # items fetched again that were already stored
    error: Optional[str] = None
    http_status: Optional[int] = None


@dataclass
class IngestedRecord(Record):
    """One archive record already ingested, so that a re-run skips it without parsing it again."""

    key: str  # derived from the WARC-Record-ID and the record's content digest
    path: str
    article_id: str  # the article it became (added then, or already present)
    entry: Optional[int] = None


@dataclass
class Contradiction(Record):
    """Two sentences of one statement group that disagree, both cited."""

    kind: str  # figure | actor | place | date | negation
    detail: str  # what differs: "38 / 31", "Qassemi / Remek", "not"
    a: Citation
    b: Citation


@dataclass
class StatementGroup(Record):
    """Sentences of one story's articles that say the same thing, counted by independent sources."""

    id: str
    story_id: str
    text: str  # the first member sentence, verbatim
    citations: list[Citation] = field(default_factory=list)
    independent_support: int = 1  # distinct source groups among the citing articles
    contradictions: list[Contradiction] = field(default_factory=list)
