"""What the Markdown and HTML renderers share: numbering, grouping, dates, notes.

A :class:`View` is built once per briefing. It numbers sources (grouped by
independence group, so the numbers run down the sources table), resolves
citation spans to their exact text, clusters quotes that match each other and
collects the notes a reader needs where evidence is thin. Renderers only lay it
out; they never compute evidence themselves.
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Optional

from ..records import Article, Briefing, Citation, Claim, Flag, Quote, Reuse, Story, TimelineEvent
from ..analysis.story_dates import story_range
from ..text import alternation, load_data, sentence_spans

@dataclass(frozen=True)
class FlagKind:
    kind: str
    label: str  # the badge's wording
    level: str  # warn: it questions the evidence; info: worth knowing
    help: str  # what it means, for the legend


@lru_cache(maxsize=1)
def flag_kinds() -> dict[str, FlagKind]:
    """Every flag kind storydesk sets, from ``data/flags.json`` (the one table)."""
    return {row["kind"]: FlagKind(**row) for row in load_data("flags.json")["flags"]}


def _flag_kind(kind: str) -> FlagKind:
    # A kind missing from the table (a plugin's, say) still renders, plainly worded.
    return flag_kinds().get(kind) or FlagKind(kind, kind.replace("_", " "), "info",
                                              "a flag set by the analysis; the JSON briefing carries its detail")


OTHER_HELP = {
    "independent sources": "articles sharing an origin (a wire story and its copies, or rewrites) count once",
    "reported speech": "what someone said in the reporter's words, not a quotation",
    "same words in": "the quotation is printed identically by every article cited",
    "wording altered": "outlets print the same quotation with different words",
    "shortened": "one outlet prints only part of the quotation",
    "different speaker": "outlets give the same words to different people",
    "date unknown": "no usable date was found for this article or event",
    "text / inferred": "publication date read from the article text, or inferred, rather than stated in metadata",
}
MAX_NOTE = 180  # characters of a flag's detail shown in the notes box
RELATION_LABELS = {
    "identical": "identical",
    "altered": "wording altered",
    "truncated": "shortened",
    "speaker_mismatch": "different speaker",
    "misattributed_narration": "narration presented as a quote",
}
REUSE_LABELS = {
    "duplicate": "duplicate of",
    "verbatim": "verbatim copy of",
    "near_verbatim": "near-verbatim copy of",
    "paraphrase": "rewrite of",
}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MAX_ACTORS = 12  # actors shown in full; the next ones are only named
MAX_NAMED = 40
MAX_CLAIMS = 20
MAX_QUOTES = 30


def flag_label(flag: Flag) -> str:
    """A reader's wording for a flag kind."""
    return _flag_kind(flag.kind).label


def flag_level(flag: Flag) -> str:
    """'warn' for flags that question the evidence, 'info' for the rest."""
    return _flag_kind(flag.kind).level


# --------------------------------------------------------------------------- dates
def parse_when(value: Optional[str]) -> Optional[tuple[dt.date, dt.date, str]]:
    """``(first day, last day, precision)`` of an ISO/TIMEX3 date, or None.

    Accepts ``YYYY-MM-DD`` (with or without a time), ``YYYY-Www``, ``YYYY-MM``
    and ``YYYY``; anything else (durations, ``XXXX``) is treated as undated.
    """
    if not value:
        return None
    v = value.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})([T ].*)?", v):
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return d, d, "day"
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", v):
            d = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return d, d + dt.timedelta(days=6), "week"
        if m := re.fullmatch(r"(\d{4})-(\d{2})", v):
            first = dt.date(int(m[1]), int(m[2]), 1)
            nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return first, nxt - dt.timedelta(days=1), "month"
        if m := re.fullmatch(r"(\d{4})", v):
            return dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31), "year"
    except ValueError:
        return None  # e.g. February 30: shown as undated rather than guessed
    return None


def fmt_date(value: Optional[str]) -> str:
    """``2031-03-15`` -> ``15 Mar 2031`` (weeks, months, years accordingly); raw text if unparsable."""
    when = parse_when(value)
    if when is None:
        return value or "undated"
    first, _, precision = when
    if precision == "day":
        return f"{first.day} {_MONTHS[first.month - 1]} {first.year}"
    if precision == "week":
        return f"week of {first.day} {_MONTHS[first.month - 1]} {first.year}"
    if precision == "month":
        return f"{_MONTHS[first.month - 1]} {first.year}"
    return str(first.year)


def fmt_stamp(value: Optional[str]) -> str:
    """``2031-03-19T08:00:00+00:00`` -> ``19 Mar 2031, 08:00 UTC`` (raw text if unparsable)."""
    try:
        stamp = dt.datetime.fromisoformat(value or "")
    except ValueError:
        return value or ""
    zone = " UTC" if stamp.utcoffset() == dt.timedelta(0) else (stamp.strftime(" %z") if stamp.tzinfo else "")
    return f"{stamp.day} {_MONTHS[stamp.month - 1]} {stamp.year}, {stamp:%H:%M}{zone}"


def fmt_range(first: Optional[dt.date], last: Optional[dt.date]) -> str:
    """A compact date range (``14–18 Mar 2031``)."""
    if first is None or last is None:
        return "dates unknown"
    if first == last:
        return f"{first.day} {_MONTHS[first.month - 1]} {first.year}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}\u2013{last.day} {_MONTHS[last.month - 1]} {last.year}"
    if first.year == last.year:
        return f"{first.day} {_MONTHS[first.month - 1]} \u2013 {last.day} {_MONTHS[last.month - 1]} {last.year}"
    return f"{fmt_date(first.isoformat())} \u2013 {fmt_date(last.isoformat())}"


# --------------------------------------------------------------------------- view model
@dataclass
class SourceGroupView:
    number: int
    articles: list[Article]

    @property
    def origin(self) -> Article:
        return self.articles[0]


@dataclass
class QuoteCluster:
    """Quotes that match each other across articles; ``lead`` is shown, the others cited."""

    lead: Quote
    members: list[Quote]
    issues: list[tuple[Quote, Quote, str, Optional[str]]] = field(default_factory=list)  # (a, b, relation, diff)


@dataclass
class View:
    briefing: Briefing
    articles: dict[str, Article]
    number: dict[str, int]
    group_of: dict[str, int]
    groups: list[SourceGroupView]
    reuse_of: dict[str, Reuse]
    notes: list[str]
    label: str
    date_range: str
    _sentences: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    prefix: str = ""  # anchor prefix when several stories share one page
    # Where citations and articles link: None for the static page (its sources table); the web app
    # points them at the article page's span instead.
    cite_href: Optional[Callable[[Citation], str]] = None
    article_href: Optional[Callable[[str], str]] = None

    @property
    def n_articles(self) -> int:
        return len(self.articles)

    @property
    def n_sources(self) -> int:
        return len(self.groups)

    def bounds(self, citation: Citation) -> Optional[tuple[int, int]]:
        """The span as ints when it lies inside its article, else None."""
        art = self.articles.get(citation.article_id)
        try:
            start, end = int(citation.span[0]), int(citation.span[1])
        except (TypeError, ValueError, IndexError):
            return None
        return (start, end) if art is not None and 0 <= start < end <= len(art.text) else None

    def span_text(self, citation: Citation) -> str:
        """The exact cited text, or a note when the span does not fit the article."""
        where = self.bounds(citation)
        if where is None:
            known = citation.article_id in self.articles
            return "(span outside the article)" if known else "(article not in this briefing)"
        return self.articles[citation.article_id].text[where[0]:where[1]]

    def span_context(self, citation: Citation) -> tuple[str, str, str]:
        """``(before, span, after)`` within the span's sentence, so short spans read in context."""
        where = self.bounds(citation)
        if where is None:
            return "", self.span_text(citation), ""
        art = self.articles[citation.article_id]
        start, end = where
        if art.id not in self._sentences:
            self._sentences[art.id] = sentence_spans(art.text)
        sent = next(((a, b) for a, b in self._sentences[art.id] if a <= start < b), (start, end))
        a, b = min(sent[0], start), max(sent[1], end)
        return art.text[a:start], art.text[start:end], art.text[end:b]

    def cite_numbers(self, citations: list[Citation]) -> list[tuple[int, Citation]]:
        """Source numbers of the citations, one per article, in number order."""
        seen: dict[int, Citation] = {}
        for c in citations:
            n = self.number.get(c.article_id)
            if n is not None and n not in seen:
                seen[n] = c
        return sorted(seen.items())

    def independent(self, citations: list[Citation]) -> int:
        return len({self.group_of[c.article_id] for c in citations if c.article_id in self.group_of})

    def outlet(self, article_id: str) -> str:
        art = self.articles.get(article_id)
        return source_name(art) if art else article_id

    def anchor(self, name: str) -> str:
        """A page-unique id (``s2-src-3``) when several stories share one page."""
        return f"{self.prefix}{name}"


def source_name(article: Article) -> str:
    """The outlet, else the file name (never a local folder path), else the id."""
    if article.outlet:
        return article.outlet
    path = article.source.path if article.source else None
    if path:
        return os.path.basename(path.rstrip("/\\")) or path
    return article.id


TITLE_CHARS = 110


def display_title(article: Article) -> str:
    """The metadata title, else the text's first line; cut at a word, never inside one."""
    title = " ".join((article.title or "").split())
    if not title:
        text = article.text if isinstance(article.text, str) else ""
        title = " ".join(text.strip().split("\n", 1)[0].split()) if text.strip() else ""
    if len(title) <= TITLE_CHARS:
        return title
    cut = title[:TITLE_CHARS + 1].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + " …"


def build_view(briefing: Briefing, prefix: str = "") -> View:
    """Number the sources, group them by independence, and collect the notes."""
    articles = {a.id: a for a in briefing.articles}
    groups = _groups(briefing, articles)
    number, group_of = {}, {}
    for g in groups:
        for a in g.articles:
            number[a.id] = len(number) + 1
            group_of[a.id] = g.number
    reuse_of = {}
    for r in briefing.reuse:
        best = reuse_of.get(r.derived_id)
        if best is None or r.coverage > best.coverage:
            reuse_of[r.derived_id] = r
    view = View(briefing, articles, number, group_of, groups, reuse_of, [], _label(briefing), _date_range(briefing),
                prefix=prefix)
    view.notes = _notes(view)
    return view


def _date_key(article: Article) -> tuple:
    when = parse_when(article.published)
    return (when is None, when[0] if when else dt.date.max, article.outlet or "")


def _groups(briefing: Briefing, articles: dict[str, Article]) -> list[SourceGroupView]:
    """Independence groups in date order; the origin first; ungrouped articles alone."""
    placed: set[str] = set()
    raw: list[list[Article]] = []
    for sg in briefing.source_groups:
        members = [articles[i] for i in dict.fromkeys(sg.article_ids) if i in articles and i not in placed]
        if not members:
            continue
        origin = [a for a in members if a.id == sg.origin_id]
        rest = sorted((a for a in members if a.id != sg.origin_id), key=_date_key)
        raw.append(origin + rest)
        placed.update(a.id for a in members)
    raw += [[a] for a in briefing.articles if a.id not in placed]
    # Earliest first; on the same day, the group with more articles (the wire story) first.
    raw.sort(key=lambda g: (min(_date_key(a) for a in g), -len(g)))
    return [SourceGroupView(n + 1, arts) for n, arts in enumerate(raw)]


def _label(briefing: Briefing) -> str:
    if len(briefing.stories) == 1:
        return briefing.stories[0].label or "Untitled story"
    if briefing.stories:
        return f"{len(briefing.stories)} stories"
    titled = [a.title for a in briefing.articles if a.title]
    return titled[0] if len(briefing.articles) == 1 and titled else "News briefing"


def _date_range(briefing: Briefing) -> str:
    """First to last trusted article date, as every command computes it (:func:`story_range`)."""
    first, last = story_range(briefing.articles, briefing.stories[0] if len(briefing.stories) == 1 else None)
    return fmt_range(first, last) if first else "dates unknown"


def _notes(view: View) -> list[str]:
    """Plain sentences on where the evidence is thin."""
    b, notes = view.briefing, []
    single = [s for s in b.summary if any(f.kind == "single_source" for f in s.flags)]
    if single:
        notes.append(f"{len(single)} of {len(b.summary)} summary sentences rest on a single source.")
    undated = [a for a in b.articles if not parse_when(a.published)]
    if undated:
        notes.append(f"{_count(len(undated), 'article')} without a usable publication date: "
                     + ", ".join(f"[{view.number[a.id]}]" for a in undated) + ".")
    inferred = [a for a in b.articles if a.published_basis == "inferred" and parse_when(a.published)]
    if inferred:
        notes.append(f"{_count(len(inferred), 'publication date')} inferred from the text, not stated: "
                     + ", ".join(f"[{view.number[a.id]}]" for a in inferred) + ".")
    for a in b.articles:
        for f in a.flags:
            if "date" in f.kind:
                detail = f.detail if len(f.detail) <= MAX_NOTE else f.detail[:MAX_NOTE].rsplit(" ", 1)[0] + " \u2026"
                notes.append(f"[{view.number[a.id]}] {view.outlet(a.id)}: {flag_label(f)}"
                             + (f" ({detail})" if detail else "") + ".")
    disputed = [c for c in b.claims if c.conflicts]
    if disputed:
        notes.append(f"{_count(len(disputed), 'statement')} contradicted by another source (see Disputed facts).")
    changed = changed_quotes(b)
    if changed:
        notes.append(f"{_count(len(changed), 'quotation')} worded or attributed differently across sources "
                     "(see Quotes).")
    low = sum(1 for rec in [*b.quotes, *b.claims, *b.summary] for f in rec.flags if f.kind == "low_confidence")
    if low:
        notes.append(f"{_count(low, 'item')} marked low confidence.")
    for err in b.analysis_errors:
        on = (f"[{view.number[err.article_id]}] {view.outlet(err.article_id)}" if err.article_id in view.number
              else "this story")
        notes.append(f"The {err.stage} step failed on {on} ({err.error}): what it adds is missing here.")
    undated_events = [e for e in b.timeline if parse_when(e.date) is None]
    if undated_events:
        notes.append(f"{_count(len(undated_events), 'timeline event')} could not be dated.")
    if len(view.groups) == 1 and len(b.articles) > 1:
        notes.append("All articles share one origin: there is no independent confirmation.")
    return notes


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- quotes
def changed_quotes(briefing: Briefing) -> set[frozenset[str]]:
    """Pairs of quote ids whose relation is anything but identical."""
    return {frozenset((q.id, m.quote_id)) for q in briefing.quotes for m in q.matches if m.relation != "identical"}


def quote_clusters(briefing: Briefing, view: View) -> list[QuoteCluster]:
    """Group quotes connected by matches; each pair's non-identical relation listed once."""
    by_id = {q.id: q for q in briefing.quotes}
    parent = {q.id: q.id for q in briefing.quotes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for q in briefing.quotes:
        for m in q.matches:
            if m.quote_id in parent:
                parent[find(m.quote_id)] = find(q.id)
    members: dict[str, list[Quote]] = {}
    for q in briefing.quotes:
        members.setdefault(find(q.id), []).append(q)
    clusters = []
    for qs in members.values():
        # Lead with the most faithfully repeated direct quote: most identical matches, then longest.
        qs.sort(key=lambda q: (q.kind != "direct", -sum(m.relation == "identical" for m in q.matches),
                               -len(q.text), view.number.get(q.article_id, 10**9)))
        cluster = QuoteCluster(qs[0], qs)
        seen: set[frozenset[str]] = set()
        for q in qs:
            for m in q.matches:
                pair = frozenset((q.id, m.quote_id))
                if m.relation == "identical" or pair in seen:
                    continue
                seen.add(pair)
                cluster.issues.append((q, by_id.get(m.quote_id), m.relation, m.diff))
        clusters.append(cluster)
    # Integrity problems first, then direct quotes before reported speech, the most reported first.
    clusters.sort(key=lambda c: (not c.issues, c.lead.kind == "indirect", -len({q.article_id for q in c.members}),
                                 view.number.get(c.lead.article_id, 10**9)))
    return clusters


_NARRATION = re.compile(r"\b(a[0-9a-f]{6,})\b[^\[\]]{0,60}\[(\d+),\s*(\d+)\]")


def narration_citation(view: "View", quote: Quote, *texts: Optional[str]) -> Optional[Citation]:
    """The article span that prints ``quote`` as narration.

    Read from the match's ``article_id``/``span``; briefings stored before those
    fields existed carry it only in the match diff or flag detail text.
    """
    for m in quote.matches:
        if m.relation == "misattributed_narration" and m.article_id in view.articles and m.span:
            cite = Citation(m.article_id, tuple(m.span))
            if view.bounds(cite):
                return cite
    for text in texts:
        m = _NARRATION.search(text or "")
        if m and m[1] in view.articles:
            cite = Citation(m[1], (int(m[2]), int(m[3])))
            if view.bounds(cite):
                return cite
    return None


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``[(op, text)]`` with op in ``=``, ``-``, ``+``: how ``new`` rewords ``old``."""
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=[_fold(w) for w in a], b=[_fold(w) for w in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(("=", " ".join(b[j1:j2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(b[j1:j2])))
    return out


def _fold(word: str) -> str:
    return re.sub(r"[^\w]", "", word.casefold())


def speaker_text(quote: Quote) -> str:
    return quote.speaker.text if quote.speaker and quote.speaker.text else "unattributed"


# --------------------------------------------------------------------------- other sections
def timeline_parts(events: list[TimelineEvent]) -> tuple[list[tuple[TimelineEvent, tuple]], list[TimelineEvent]]:
    """(dated events in date order with their parsed range, undated events)."""
    dated, undated = [], []
    for e in events:
        when = parse_when(e.date)
        (dated.append((e, when)) if when else undated.append(e))
    dated.sort(key=lambda p: (p[1][0], p[1][1]))
    return dated, undated


def actors(briefing: Briefing) -> list:
    """Entities ordered by how many articles mention them, then by mentions."""
    return sorted(briefing.entities, key=lambda e: (-len({m.article_id for m in e.mentions}),
                                                    -len(e.mentions), e.name.casefold()))


def disputed_pairs(briefing: Briefing) -> list[tuple[Claim, list[Claim]]]:
    """Each disputed claim once, with the claims that contradict it."""
    by_id = {c.id: c for c in briefing.claims}
    shown: set[str] = set()
    out = []
    for c in briefing.claims:
        if not c.conflicts or c.id in shown:
            continue
        others = [by_id[i] for i in c.conflicts if i in by_id and i not in shown]
        shown.add(c.id)
        shown.update(o.id for o in others)
        out.append((c, others))
    return out


def reuse_text(view: View, article: Article) -> str:
    """How an article relates to its group's origin, in words."""
    r = view.reuse_of.get(article.id)
    if r is None:
        group = view.groups[view.group_of[article.id] - 1]
        if len(group.articles) == 1:
            return "independent"
        return "origin" if group.origin.id == article.id else f"same origin as [{view.number[group.origin.id]}]"
    label = REUSE_LABELS.get(r.kind, r.kind.replace("_", " ") + " of")
    src = view.number.get(r.source_id)
    ref = f"[{src}]" if src else "an article not in this briefing"
    return f"{label} {ref}, {r.coverage:.0%} of sentences"


# --------------------------------------------------------------------------- one page, several stories
def records_for_story(records: list, story_id: str, ids: set[str]) -> list:
    """The records that belong to a story: by their story id, else by the articles they cite."""
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


_SECTIONS = ("reuse", "source_groups", "entities", "quotes", "claims", "timeline", "summary")


def story_briefing(briefing: Briefing, story: Story) -> Briefing:
    """The part of a briefing about one story (its articles and the records citing them)."""
    ids = set(story.article_ids)
    parts = {k: records_for_story(getattr(briefing, k), story.id, ids) for k in _SECTIONS}
    errors = [e for e in briefing.analysis_errors if e.story_id == story.id or e.article_id in ids]
    return replace(briefing, articles=[a for a in briefing.articles if a.id in ids], stories=[story],
                   analysis_errors=errors, **parts)


def split_stories(briefing: Briefing) -> list[Briefing]:
    """One briefing per story, largest first; articles in no story form a last, untitled part."""
    stories = sorted(briefing.stories, key=lambda s: (-len(s.article_ids), s.id))
    parts = [story_briefing(briefing, s) for s in stories]
    placed = {i for s in stories for i in s.article_ids}
    rest = [a for a in briefing.articles if a.id not in placed]
    if rest:
        loose = Story("unassigned", "Articles in no story", [a.id for a in rest])
        part = story_briefing(briefing, loose)
        parts.append(replace(part, stories=[]))
    return [p for p in parts if p.articles]


def story_label(briefing: Briefing) -> str:
    return briefing.stories[0].label if briefing.stories else "Articles in no story"


# --------------------------------------------------------------------------- timeline, facts, legend
PRECISION_RANK = {"day": 0, "week": 1, "month": 2, "year": 3}
BACKGROUND_DAYS = 366  # events this long before the story's first article are background, off the axis


def timeline_sections(briefing: Briefing) -> tuple[list, list, list[TimelineEvent]]:
    """(events for the axis, earlier background events, undated events), each sentence once.

    A sentence dated twice (``built in 1974 ... last week``) is kept under the date nearest the
    story's own dates; events long before the story are listed as background so they do not
    stretch the axis over decades.
    """
    first, _ = story_range(briefing.articles)
    dated, undated = timeline_parts(_one_per_sentence(briefing.timeline, first))
    if first is None:
        return dated, [], undated
    cut = first - dt.timedelta(days=BACKGROUND_DAYS)
    axis = [(e, w) for e, w in dated if w[1] >= cut]
    background = [(e, w) for e, w in dated if w[1] < cut]
    return axis or dated, background if axis else [], undated


def _one_per_sentence(events: list[TimelineEvent], first: Optional[dt.date]) -> list[TimelineEvent]:
    best: dict[str, tuple[tuple, TimelineEvent]] = {}
    order: list[str] = []
    for e in events:
        key = " ".join(event_text(e).split()).casefold()
        when = parse_when(e.date)
        distance = abs((when[0] - first).days) if when and first else (0 if when else 10**6)
        rank = (distance > BACKGROUND_DAYS, PRECISION_RANK.get(when[2], 9) if when else 9, distance)
        if key not in best:
            order.append(key)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, e)
    return [best[k][1] for k in order]


def event_text(event: TimelineEvent) -> str:
    """An event's sentence as shown: without a leading wire dateline ('KVARN — '), nothing added."""
    from ..analysis.summary import dateline_end

    return event.text[dateline_end(event.text):]


def key_facts(briefing: Briefing, view: View) -> list[Claim]:
    """Undisputed claims, best supported first, each citing sentence shown once."""
    claims = sorted((c for c in briefing.claims if not c.conflicts),
                    key=lambda c: -(c.independent_support or view.independent(c.citations)))
    seen: set[str] = set()
    out = []
    for c in claims:
        key = " ".join(c.text.split()).casefold()
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _vague_words() -> list[str]:
    return sorted(load_data("claims.json").get("vague", {}), key=len, reverse=True)


def claim_label(label: Optional[str]) -> str:
    """A claim label in plain grammar: 'hundreds troops' -> 'hundreds of troops' (our words, not a source's)."""
    if not label:
        return ""
    words = alternation(_vague_words())
    return re.sub(rf"\b({words})\s+(?!of\b)(?=[a-z])", r"\1 of ", label) if words else label


def legend(briefing: Briefing) -> list[tuple[str, str]]:
    """(badge wording, what it means) for every flag kind the briefing shows, then the other marks."""
    kinds: dict[str, None] = {}
    records = [*briefing.articles, *briefing.summary, *briefing.quotes, *briefing.claims]
    for rec in records:
        for f in rec.flags:
            kinds.setdefault(f.kind)
    out = [(_flag_kind(k).label, _flag_kind(k).help) for k in kinds]
    return out + list(OTHER_HELP.items())
