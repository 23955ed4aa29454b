"""Publication-date checks and the dated timeline of a story.

Two stages:

* ``dating`` (needs stories, adds ``date_checks``: :class:`DateCheck`) checks
  every article's publication date against its own text and against the other
  articles of its story. An article without a date gets one inferred from its
  content (``published_basis="inferred"`` and a ``date_inferred`` flag with the
  evidence); a stated date that does not fit gets a ``date_mismatch`` flag.
  Articles are updated in place (``store.update_article``) and each check is
  kept as a record, so a reader can see why.
* ``timeline`` (needs stories and date_checks, adds ``timeline``:
  ``TimelineEvent``) collects the sentences that state something happened on a
  resolved date, merges the ones that tell the same event across articles and
  orders them.

The date of an event is never guessed: relative expressions ("Sunday") are only
resolved when the article's own date is known within a few days; otherwise only
dates written out in full count.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import statistics
from dataclasses import dataclass
from typing import Iterable, Optional

from .. import work
from ..pipeline import Analysis, stage
from ..records import Article, Citation, DateCheck, Flag, TimelineEvent, content_id
from ..text import alternation, load_data, sentence_spans, words
from .timex import TagResult, Timex, analyse, as_date, value_range

Span = tuple[int, int]
STAGE_FLAGS = ("date_inferred", "date_mismatch", "impossible_date", "date_contradiction")


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

class _Vocab:
    def __init__(self, data: dict):
        self.caption = re.compile("|".join(data["caption_cues"]), re.M)
        self.past = re.compile(r"(?<![\w'])(" + alternation(data["past_event_cues"]) + "|" + data["past_suffix"]
                               + r")(?![\w'])", re.I)
        self.not_verbs = set(data["not_verbs"])
        self.future = re.compile(r"(?<![\w'])(?:" + alternation(data["future_cues"]) + r")(?![\w'])", re.I)
        self.reporting = re.compile(r"\b(?:" + alternation(data["reporting_verbs"]) + r")\b[^.;]{0,25}$", re.I)
        self.attached = re.compile(data["attached_date"], re.I)
        self.removed_evidence = frozenset(data["removed_evidence"])
        self.merge_overlap = data["similarity"]["merge_overlap"]
        self.min_words = data["similarity"]["min_content_words"]
        d = data["dating"]
        self.peer_tolerance = d["peer_tolerance"]
        self.own_tolerance = d["own_tolerance"]
        self.max_window = d["max_window"]
        self.publish_lag = d["publish_lag"]
        self.min_story_dates = d["min_story_dates"]
        # The language-identification list plus our own; sklearn's list would cost seconds of import.
        self.stopwords = frozenset(load_data("stopwords.json")["en"]) | frozenset(data["stopwords"])

    def has_past_verb(self, sentence: str) -> bool:
        return any(m.group(1).lower() not in self.not_verbs for m in self.past.finditer(sentence))


@functools.lru_cache(maxsize=1)
def vocab() -> _Vocab:
    return _Vocab(load_data("timeline.json"))


def _content_words(v: _Vocab, text: str) -> frozenset[str]:
    return frozenset(w for w in words(text) if w not in v.stopwords and not w.isdigit() and len(w) > 2)


def _overlap(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


# ---------------------------------------------------------------------------
# Evidence from one article
# ---------------------------------------------------------------------------

@dataclass
class _Ref:
    """A weekday mention: which day, where, and in which sentence."""

    weekday: int
    span: Span
    sentence: Span


@dataclass
class Evidence:
    """What an article's own text says about when it was written."""

    article: Article
    explicit: list[tuple[dt.date, Span]]  # dates written with their year, not in future-tense sentences
    removed: list[tuple[dt.date, str]]  # such dates in removed captions and teasers (no span: not in the text)
    weekdays: list[_Ref]  # past or present weekday mentions ("said Sunday")
    invalid: list[tuple[Span, str]]  # impossible dates ("February 30")
    conflicts: list[tuple[Span, str]]  # weekday and date that disagree

    @property
    def latest(self) -> Optional[tuple[dt.date, Span]]:
        return max(self.explicit, key=lambda e: e[0]) if self.explicit else None


_REL_WEEKDAY = re.compile(r"(?i)^(?:the\s+)?(?:last|next|this|previous|coming|following)\b")


def _sentences(text: str) -> list[Span]:
    return sentence_spans(text)


def _sentence_of(spans: list[Span], pos: int) -> Span:
    for s in spans:
        if s[0] <= pos < s[1]:
            return s
    return (pos, pos)


def evidence(article: Article) -> Evidence:
    """Explicit dates and weekday mentions in the article (tagged without a DCT)."""
    v = vocab()
    res = _analysed(article.text, None)
    sents = _sentences(article.text)
    explicit, weekdays = [], []
    for t in res.timexes:
        sent = _sentence_of(sents, t.span[0])
        sentence = article.text[sent[0]:sent[1]]
        future = bool(v.future.search(sentence))
        day = _day_of(t)
        if day and not future:
            explicit.append((day, t.span))
        m = re.match(r"XXXX-WXX-(\d)(?:T\w+)?$", t.value)
        attributive = re.search(r"(?i)\b(?:a|an|the)\s+$", article.text[max(0, t.span[0] - 5):t.span[0]])
        if m and t.type in ("DATE", "TIME") and not future and not _REL_WEEKDAY.match(t.text) and not attributive:
            weekdays.append(_Ref(int(m.group(1)), t.span, sent))
    removed = []
    for r in article.removed:
        if r.reason in v.removed_evidence and not v.future.search(r.text):
            removed += [(d, r.text) for d in filter(None, map(_day_of, _analysed(r.text, None).timexes))]
    return Evidence(article, explicit, removed, weekdays, res.invalid, res.conflicts)


def _day_of(t: Timex) -> Optional[dt.date]:
    if t.type not in ("DATE", "TIME") or t.precision not in ("day", "time"):
        return None
    return as_date(t.value)


# ---------------------------------------------------------------------------
# Windows of possible publication dates
# ---------------------------------------------------------------------------

@dataclass
class _Window:
    lo: dt.date
    hi: dt.date
    why: str
    cites: list[Citation]
    strength: int  # 3 own explicit date, 2 event told by another article, 1 dates of the other articles

    def contains(self, d: dt.date, slack: int = 0) -> bool:
        return self.lo - dt.timedelta(days=slack) <= d <= self.hi + dt.timedelta(days=slack)


def _fmt(d: dt.date) -> str:
    return d.isoformat()


def _quote(article: Article, span: Span, limit: int = 90) -> str:
    text = " ".join(article.text[span[0]:span[1]].split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def own_window(ev: Evidence) -> Optional[_Window]:
    """The article cannot predate the latest date it reports (and usually follows it within days)."""
    v = vocab()
    latest = ev.latest
    lag = dt.timedelta(days=v.publish_lag)
    removed = max(ev.removed, key=lambda r: r[0]) if ev.removed else None
    if latest and (removed is None or latest[0] >= removed[0]):
        day, span = latest
        return _Window(day, day + lag, f"the latest date its text reports is {_fmt(day)} "
                       f"({_quote(ev.article, span, 40)!r})", [Citation(ev.article.id, span)], 3)
    if removed:
        day, line = removed
        line = " ".join(line.split())
        return _Window(day, day + lag, f"a caption or teaser removed from the page is dated {_fmt(day)} "
                       f"({line[:60]!r})", [], 2)
    return None


@dataclass
class _Dated:
    """An article whose date is trusted enough to date the events it tells."""

    article: Article
    date: dt.date
    kind: str  # stated | content


TAGS = work.Fact("timex", "1", TagResult, many=False)


def _tag_parts(text: str, dct: Optional[str]) -> tuple[str, ...]:
    return work.text_digest(text), str(dct)


@functools.lru_cache(maxsize=4096)
def _analysed(text: str, dct: Optional[str]):
    """Tagging is the costly step and each article is read several times: cache it (here, and
    between runs as a kept fact)."""
    return work.kept(TAGS, _tag_parts(text, dct), lambda: analyse(text, dct))


def tagged(text: str, dct: Optional[str]) -> tuple[Timex, ...]:
    """The time expressions of ``text`` against ``dct`` (kept between runs inside a story job)."""
    return tuple(_analysed(text, dct).timexes)


def kept_tags(store, text: str, dct: Optional[str]) -> Optional[tuple[Timex, ...]]:
    """The tagging a run kept in ``store`` for ``text`` against ``dct``, or None (never tags)."""
    found = work.stored(TAGS, store, _tag_parts(text, dct))
    return None if found is None else tuple(found.timexes)


@functools.lru_cache(maxsize=4096)
def _dated_days(text: str, article_id: str, dct: str) -> tuple[tuple[int, dt.date, frozenset, Span], ...]:
    """(weekday, day, content words, sentence) of every day-precision date in a dated article."""
    v = vocab()
    sents = _sentences(text)
    out = []
    for t in tagged(text, dct):
        day = _day_of(t)
        if day is not None:
            sent = _sentence_of(sents, t.span[0])
            out.append((day.isoweekday(), day, _content_words(v, text[sent[0]:sent[1]]), sent))
    return tuple(out)


def aligned_windows(ev: Evidence, peers: list[_Dated]) -> list[_Window]:
    """Weekday mentions matched to the same event in dated articles of the story.

    "On Tuesday the dam gave way" in this article and "the dam gave way on
    Tuesday evening" (resolved to 2025-10-21) in another: this article was
    written within the week after 2025-10-21.
    """
    v = vocab()
    out: list[_Window] = []
    if not ev.weekdays:
        return out
    index: dict[int, list[tuple[dt.date, frozenset, Citation]]] = {}
    for peer in peers:
        for weekday, day, ws, sent in _dated_days(peer.article.text, peer.article.id, peer.date.isoformat()):
            index.setdefault(weekday, []).append((day, ws, Citation(peer.article.id, sent)))
    for ref in ev.weekdays:
        mine = _content_words(v, ev.article.text[ref.sentence[0]:ref.sentence[1]])
        if len(mine) < v.min_words:
            continue
        best: Optional[tuple[float, dt.date, Citation]] = None
        for day, ws, cite in index.get(ref.weekday, ()):
            score = _overlap(mine, ws)
            if score >= v.merge_overlap and (best is None or score > best[0]):
                best = (score, day, cite)
        if best:
            _, day, cite = best
            out.append(_Window(day, day + dt.timedelta(days=6),
                               f"{_quote(ev.article, ref.sentence, 70)!r} tells an event another article dates "
                               f"to {_fmt(day)}", [Citation(ev.article.id, ref.sentence), cite], 2))
    return out


def peer_window(peers: list[_Dated], exclude: str) -> Optional[_Window]:
    """The range of the story's other dates, once outliers far from their median are set aside."""
    v = vocab()
    others = [p for p in peers if p.article.id != exclude]
    stated = [p for p in others if p.kind == "stated"]
    if not others or (len(stated) < v.min_story_dates and not any(p.kind == "content" for p in others)):
        return None
    med = dt.date.fromordinal(int(statistics.median(p.date.toordinal() for p in others)))
    core = [p for p in others if abs((p.date - med).days) <= v.peer_tolerance] or others
    lo, hi = min(p.date for p in core), max(p.date for p in core)
    ids = sorted({p.article.id for p in core})
    if len(ids) == 1:
        how = " by its content" if core[0].kind == "content" else ""
        why = f"the only other dated article of its story ({ids[0]}, dated{how}) is from {_fmt(lo)}"
    else:
        shown = ", ".join(ids[:4]) + (", ..." if len(ids) > 4 else "")
        why = f"the {len(ids)} other dated articles of its story ({shown}) run from {_fmt(lo)} to {_fmt(hi)}"
    return _Window(lo, hi, why, [], 1)


def choose_day(lo: dt.date, hi: dt.date, refs: list[_Ref], prefer: dt.date) -> dt.date:
    """The day in [lo, hi] after which the article's weekday mentions are most recent.

    News names a weekday for the last seven days, so the publication date is the
    day that makes the oldest weekday mention as recent as possible; ties go to
    the day nearest ``prefer``.
    """
    days = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)] or [lo]

    def score(d: dt.date) -> tuple[int, int]:
        back = max(((d.isoweekday() - r.weekday) % 7 for r in refs), default=0)
        return back, abs((d - prefer).days)
    return min(days, key=score)


def _intersect(windows: list[_Window]) -> Optional[tuple[dt.date, dt.date]]:
    lo = max(w.lo for w in windows)
    hi = min(w.hi for w in windows)
    return (lo, hi) if lo <= hi else None


# ---------------------------------------------------------------------------
# Checking and inferring publication dates
# ---------------------------------------------------------------------------

def _stated(article: Article) -> Optional[dt.date]:
    if article.published_basis in ("unknown", "inferred"):
        return None
    return as_date(article.published)


def check_story_dates(articles: list[Article]) -> list[DateCheck]:
    """Check, infer and flag the publication dates of one story's articles (updates them in place)."""
    v = vocab()
    for a in articles:
        a.flags = [f for f in a.flags if f.kind not in STAGE_FLAGS]
        if a.published_basis == "inferred":  # a previous run's guess: infer again from scratch
            a.published, a.published_basis = None, "unknown"
    evs = {a.id: evidence(a) for a in articles}
    own = {a.id: own_window(evs[a.id]) for a in articles}
    checks: dict[str, DateCheck] = {}

    # 1. A stated date before a date the text reports as past cannot be right.
    internally_bad: set[str] = set()
    for a in articles:
        stated, w = _stated(a), own[a.id]
        if stated and w and stated < w.lo - dt.timedelta(days=v.own_tolerance):
            internally_bad.add(a.id)
    # 2. Peers: stated dates that pass step 1, and content-based dates of undated articles.
    peers = [_Dated(a, _stated(a), "stated") for a in articles if _stated(a) and a.id not in internally_bad]
    peers += [_Dated(a, own[a.id].lo, "content") for a in articles if not _stated(a) and own[a.id]]
    # 3. Stated dates far outside the range of the others are not used to date events for the rest.
    outliers = set()
    for p in peers:
        w = peer_window(peers, p.article.id)
        if p.kind == "stated" and w and not w.contains(p.date, v.peer_tolerance):
            outliers.add(p.article.id)
    sound = [p for p in peers if p.article.id not in outliers]

    for a in articles:
        stated = _stated(a)
        if stated:
            checks[a.id] = _check_stated(a, stated, evs[a.id], own[a.id], sound)
    trusted = [p for p in peers if p.kind == "content" or checks[p.article.id].verdict == "ok"]
    for a in articles:
        if not _stated(a):
            checks[a.id] = _infer(a, evs[a.id], own[a.id], trusted)
    for a in articles:
        _flag_bad_dates(a, evs[a.id])
    return [checks[a.id] for a in articles]


def _check_stated(a: Article, stated: dt.date, ev: Evidence, own: Optional[_Window],
                  peers: list[_Dated]) -> DateCheck:
    v = vocab()
    problems: list[_Window] = []
    support: list[_Window] = []
    if own:
        (problems if stated < own.lo - dt.timedelta(days=v.own_tolerance) else support).append(own)
    others = [p for p in peers if p.article.id != a.id]
    peer = peer_window(peers, a.id)
    # Matching events across the story costs more: only for dates that look wrong or cannot be compared.
    suspicious = peer is None or not peer.contains(stated, v.peer_tolerance) or bool(problems)
    aligned = aligned_windows(ev, others) if suspicious else []
    fits = [w for w in aligned if w.contains(stated, v.own_tolerance)]
    misfits = [w for w in aligned if not w.contains(stated, v.own_tolerance)]
    support += fits
    if len(misfits) > len(fits):  # one loose match is not enough to overrule the others
        problems += misfits
    if peer and not peer.contains(stated, v.peer_tolerance):
        near_own = any(abs((d - stated).days) <= v.max_window for d, _ in ev.explicit)
        if not near_own:
            problems.append(_Window(peer.lo, peer.hi, peer.why + f" and its own text names no date near {_fmt(stated)}",
                                    peer.cites, peer.strength))
    elif peer:
        support.append(peer)
    span = _intersect([w for w in problems if w.strength >= 2] or problems) if problems else None
    base = dict(id=content_id("d", a.id), article_id=a.id, stated=a.published, published=a.published,
                basis=a.published_basis)
    if not problems:
        verdict = "ok" if support else "unchecked"
        return DateCheck(verdict=verdict, detail="; ".join(w.why for w in support),
                         evidence=[c for w in support for c in w.cites], **base)
    estimate = None
    window = None
    if span and any(w.strength >= 2 for w in problems):
        lo, hi = span
        estimate = choose_day(lo, hi, ev.weekdays, lo).isoformat()
        window = [lo.isoformat(), hi.isoformat()]
    detail = (f"stated {_fmt(stated)}, but " + "; ".join(w.why for w in problems)
              + (f"; the content fits {window[0]}..{window[1]}" if window else ""))
    cites = [c for w in problems for c in w.cites] + [Citation(a.id, r.span) for r in ev.weekdays[:3]]
    a.flags.append(Flag("date_mismatch", detail))
    return DateCheck(verdict="mismatch", estimate=estimate, window=window, detail=detail, evidence=cites, **base)


def _infer(a: Article, ev: Evidence, own: Optional[_Window], trusted: list[_Dated]) -> DateCheck:
    v = vocab()
    windows: list[_Window] = [own] if own else []
    windows += aligned_windows(ev, [p for p in trusted if p.article.id != a.id])
    peer = peer_window(trusted, a.id)
    if peer:
        lag = dt.timedelta(days=v.publish_lag)
        windows.append(_Window(peer.lo - lag, peer.hi + lag, peer.why, peer.cites, 1))
    base = dict(id=content_id("d", a.id), article_id=a.id, stated=None)
    if not windows:
        return DateCheck(verdict="undetermined", basis="unknown",
                         detail="no date in the text and no dated article in its story", **base)
    # Use the strongest windows that agree; weaker ones only narrow them when they overlap.
    windows.sort(key=lambda w: -w.strength)
    used = [windows[0]]
    for w in windows[1:]:
        if _intersect(used + [w]):
            used.append(w)
    lo, hi = _intersect(used)
    prefer = lo if used[0].strength >= 2 else dt.date.fromordinal((lo.toordinal() + hi.toordinal()) // 2)
    day = choose_day(lo, hi, ev.weekdays, prefer)
    a.published, a.published_basis = day.isoformat(), "inferred"
    refs = ", ".join(repr(_quote(a, r.span, 30)) for r in ev.weekdays[:3])
    detail = (f"inferred {day.isoformat()} (possible {lo.isoformat()}..{hi.isoformat()}): "
              + "; ".join(w.why for w in used) + (f"; weekday mentions {refs}" if refs else ""))
    a.flags.append(Flag("date_inferred", detail))
    cites = [c for w in used for c in w.cites] + [Citation(a.id, r.span) for r in ev.weekdays[:3]]
    return DateCheck(verdict="inferred", published=a.published, basis="inferred", estimate=day.isoformat(),
                     window=[lo.isoformat(), hi.isoformat()], detail=detail, evidence=cites, **base)


def _flag_bad_dates(a: Article, ev: Evidence) -> None:
    for span, text in ev.invalid:
        a.flags.append(Flag("impossible_date", f"{text!r} at {span[0]}-{span[1]} is not a calendar date; ignored"))
    for span, why in ev.conflicts:
        a.flags.append(Flag("date_contradiction", f"{_quote(a, span, 40)!r} at {span[0]}-{span[1]}: {why}; "
                                             "the written date was kept"))


# ---------------------------------------------------------------------------
# Timeline
# ---------------------------------------------------------------------------

_PRECISION = {"time": "day", "day": "day", "week": "week", "month": "month", "year": "year"}


@dataclass
class _Candidate:
    article: Article
    sentence: Span
    value: str
    precision: str
    words: frozenset


def article_dct(article: Article, check: Optional[DateCheck]) -> tuple[Optional[str], bool]:
    """The date relative expressions hang on, and whether they may be resolved at all."""
    v = vocab()
    if check is not None and check.verdict == "mismatch":
        return None, False
    if article.published_basis == "unknown" or not as_date(article.published):
        return None, False
    if article.published_basis == "inferred" and check is not None and check.window:
        lo, hi = as_date(check.window[0]), as_date(check.window[1])
        if lo and hi and (hi - lo).days > v.max_window:
            return None, False
    return as_date(article.published).isoformat(), True


def dated_sentences(article: Article, dct: Optional[str], relative_ok: bool = True) -> list[_Candidate]:
    """Sentences of one article that say something happened on a resolved date."""
    v = vocab()
    text = article.text
    timexes = tagged(text, dct if relative_ok else None)
    explicit = {t.span for t in tagged(text, None) if t.anchored}
    dct_day = as_date(dct) if dct else None
    out = []
    for s, e in _sentences(text):
        sentence = text[s:e]
        inside = [t for t in timexes if s <= t.span[0] < e]
        if not inside or v.caption.search(sentence) or not v.has_past_verb(sentence):
            continue
        usable = []
        for t in inside:
            prec = _PRECISION.get(t.precision)
            if not prec or not t.anchored or (not relative_ok and t.span not in explicit):
                continue
            rng = value_range(t.value)
            if rng is None:
                continue
            future = v.future.search(text[max(s, t.span[0] - 80):t.span[0]])
            if future and not (dct_day and rng[1] < dct_day):
                continue  # an announced plan, not something that happened
            reporting = bool(v.reporting.search(text[s:t.span[0]]))
            usable.append((reporting, -["year", "month", "week", "day"].index(prec), t.span[0], t, prec))
        if not usable:
            continue
        usable.sort(key=lambda u: u[:3])
        chosen = [usable[0]]
        # "The dam, built in 1974, was holding back ... last week": a date right after
        # its own verb is a second event in the same sentence.
        chosen += [u for u in usable[1:] if v.attached.search(text[max(s, u[2] - 40):u[2]])
                   and u[3].value.split("T")[0] != usable[0][3].value.split("T")[0]]
        words_ = _content_words(v, sentence)
        for _, _, _, t, prec in chosen:
            out.append(_Candidate(article, (s, e), t.value.split("T")[0], prec, words_))
    return out


def merge_events(cands: list[_Candidate], order: dict[str, int]) -> list[TimelineEvent]:
    """Merge candidates with the same date that tell the same event; order the result."""
    v = vocab()
    by_value: dict[str, list[_Candidate]] = {}
    for c in cands:
        by_value.setdefault(c.value, []).append(c)
    events: list[tuple[tuple, TimelineEvent]] = []
    for value, group in by_value.items():
        clusters: list[list[_Candidate]] = []
        for c in group:
            home = next((cl for cl in clusters if any(_overlap(c.words, o.words) >= v.merge_overlap for o in cl)), None)
            (home.append(c) if home is not None else clusters.append([c]))
        for cl in clusters:
            cl.sort(key=lambda c: (order.get(c.article.id, 0), c.sentence[0]))
            rep = max(cl, key=lambda c: (sum(_overlap(c.words, o.words) for o in cl), -order.get(c.article.id, 0)))
            text = " ".join(rep.article.text[rep.sentence[0]:rep.sentence[1]].split())
            cites, seen = [], set()
            for c in cl:
                if (c.article.id, c.sentence) not in seen:
                    seen.add((c.article.id, c.sentence))
                    cites.append(Citation(c.article.id, c.sentence))
            rng = value_range(value)
            events.append(((rng[0], rng[1], order.get(cl[0].article.id, 0), cl[0].sentence[0]),
                           TimelineEvent(date=value, precision=rep.precision, text=text, citations=cites)))
    events.sort(key=lambda p: p[0])
    return [e for _, e in events]


def story_timeline(articles: list[Article], checks: dict[str, DateCheck]) -> list[TimelineEvent]:
    """The dated events of one story, merged across its articles and in date order."""
    cands: list[_Candidate] = []
    for a in articles:
        if not a.is_english:
            continue  # the tagger's vocabulary is English
        dct, relative_ok = article_dct(a, checks.get(a.id))
        cands += dated_sentences(a, dct, relative_ok)
    # Earlier-published articles first: their wording represents a merged event.
    order = {a.id: i for i, a in enumerate(sorted(articles, key=lambda a: (a.published or "9999", )))}
    return merge_events(cands, order)


# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------

def story_groups(analysis: Analysis) -> list[list[Article]]:
    """Articles grouped by story; all articles form one story when no story is given."""
    return [[analysis.article(i) for i in ids] for ids in analysis.groups()]


@stage("dating", needs=("stories",), adds={"date_checks": DateCheck})
def dating_stage(analysis: Analysis) -> dict[str, list[DateCheck]]:
    """Stage: check stated publication dates, infer missing ones, flag bad dates.

    Articles whose date or flags change are handed back in ``analysis.updated``; the
    engine stores them with the story's records (a direct call with a store writes them).
    """
    checks: list[DateCheck] = []
    for group in story_groups(analysis):
        before = {a.id: _dating_view(a) for a in group}
        checks += check_story_dates(group)
        for a in group:
            if before[a.id] != _dating_view(a):
                analysis.updated[a.id] = a
                if analysis.spec is None and analysis.store is not None:
                    analysis.store.update_article(a)
    return {"date_checks": checks}


def _dating_view(a: Article) -> tuple:
    return a.published, a.published_basis, [f.to_dict() for f in a.flags]


@stage("timeline", needs=("stories", "date_checks"), adds={"timeline": TimelineEvent})
def timeline_stage(analysis: Analysis) -> dict[str, list[TimelineEvent]]:
    """Stage: dated events per story, merged across articles and ordered."""
    checks = {c.article_id: c for c in analysis.get("date_checks")}
    events: list[TimelineEvent] = []
    for group in story_groups(analysis):
        events += story_timeline(group, checks)
    return {"timeline": events}


def events_for(events: Iterable[TimelineEvent], article_ids: Iterable[str]) -> list[TimelineEvent]:
    """The events of one story (those citing its articles); TimelineEvent has no story id yet."""
    ids = set(article_ids)
    return [e for e in events if any(c.article_id in ids for c in e.citations)]
