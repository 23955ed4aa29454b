"""Figures: the numbers of a sentence that count something, with what, where and when.

A *figure* is a number (:mod:`.numbers`) in a sentence of an English article that counts
something a reader cares about: deaths, injured, missing, people displaced or rescued,
troops, buildings destroyed, money. For each one we read

* its **family** (what it counts) from the noun after it or the cue words of its
  clause ("17 people had died", "killed at least 41 people", "the death toll
  climbed to 38"), and *who* is counted ("17 soldiers" is not "17 people"),
* its **scope** (where it holds: "in Selm District" vs "across the province"),
* its **time** (a date named in the sentence, resolved with :func:`storydesk.analysis.timex.tag`
  against the article's date, else the article's date).

:func:`article_figures` gives an article's :class:`Figure` mentions; :mod:`.claims`
groups them across articles.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field, replace
from typing import Optional

from ..records import Article, Record
from ..text import alternation, sentence_spans
from .numbers import Span, _Num, _Vocab, find_numbers, vocab

try:  # timex is another contributor's module: without it every figure takes its article's date
    from . import timex as _timex
except Exception:  # pragma: no cover - only when timex.py is broken or absent
    _timex = None


# ---------------------------------------------------------------------------
# Records used inside this module
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope(Record):
    """Where a figure holds: a place name and/or an administrative level, and who holds it (troops)."""

    name: Optional[str] = None  # folded place name without its level word ("selm")
    level: Optional[str] = None  # district | province | country ...
    label: str = ""  # as written ("Selm District")
    actor: frozenset = frozenset()  # for families counted per owner ("France has 1,500 soldiers")

    @property
    def empty(self) -> bool:
        return self.name is None and self.level is None


@dataclass(frozen=True)
class When(Record):
    """The days a figure may describe and the day it is reported for (``ref``)."""

    lo: dt.date
    hi: dt.date
    ref: dt.date
    explicit: bool  # a date is written in the sentence (else the article's date)

    def overlaps(self, other: "When") -> bool:
        return self.lo <= other.hi and other.lo <= self.hi

    @property
    def label(self) -> str:
        """The date as a reader would write it: a day, a month, a year or a range."""
        if not self.explicit or self.lo == self.hi:
            return self.ref.isoformat()
        if (self.lo.month, self.lo.day, self.hi.month, self.hi.day) == (1, 1, 12, 31) and self.lo.year == self.hi.year:
            return str(self.lo.year)
        if self.lo.day == 1 and (self.lo.year, self.lo.month) == (self.hi.year, self.hi.month) \
                and (self.hi + dt.timedelta(days=1)).day == 1:
            return self.lo.strftime("%Y-%m")
        return f"{self.lo.isoformat()}..{self.hi.isoformat()}"


@dataclass(frozen=True)
class Figure(Record):
    """One figure mention in one sentence of one article."""

    article_id: str
    sentence: Span
    span: Span  # the number with its hedge
    text: str  # the number as written ("at least 23")
    value: float
    lo: float
    hi: float
    hedge: str  # exact | min | min_excl | max | max_excl | approx | near_below | near_above | vague | range
    family: str
    unit: str  # who or what is counted: people, soldiers, households, crowns, length...
    scope: Scope = field(default_factory=Scope)
    when: Optional[When] = None
    detail: str = ""  # what money is for ("fund"); empty when unknown
    update: bool = False  # written as a rise ("the toll climbed to 38")

    def compatible(self, other: "Figure") -> bool:
        """True when both values can be true at once (their intervals meet)."""
        eps = 1e-9 * max(1.0, abs(self.value), abs(other.value))
        return self.lo <= other.hi + eps and other.lo <= self.hi + eps


# ---------------------------------------------------------------------------
# 2. Clauses, family, unit
# ---------------------------------------------------------------------------

def _clauses(sentence: str, nums: list[_Num], v: _Vocab) -> list[Span]:
    """Clause spans of the sentence (boundaries inside numbers and hedges ignored)."""
    inside = [(n.start, n.end) for n in nums]
    cuts = [0]
    for m in v.clause_break.finditer(sentence):
        if any(s <= m.start() < e for s, e in inside):
            continue
        cuts += [m.start(), m.end()]
    cuts.append(len(sentence))
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]


def _clause_of(clauses: list[Span], n: _Num) -> Span:
    start = max((s for s, e in clauses if s <= n.start), default=0)
    end = min((e for s, e in clauses if e >= n.end), default=n.end)
    return start, max(end, n.end)


_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f][\w\u00c0-\u024f'.\u2019-]*|[^\s\w]")


def _next_words(text: str, pos: int, limit: int) -> list[tuple[str, int, int]]:
    out = []
    for m in _WORD_RE.finditer(text, pos):
        out.append((m.group().rstrip(".") if not m.group().endswith("a.m.") else m.group(), m.start(), m.end()))
        if len(out) >= limit:
            break
    return out


@dataclass
class _Head:
    kind: str  # event | people | households | building | money | measure | bare | other | time
    family: Optional[str] = None
    unit: Optional[str] = None
    end: int = 0  # where the noun phrase ends (cue search starts here)


def _head(sentence: str, n: _Num, v: _Vocab) -> _Head:
    """What the words right after a number say it counts."""
    pos = n.end
    if n.vague_of or re.match(r"(?i)\s+of\s+(?!the\b|them\b|those\b|whom\b|which\b)", sentence[pos:]):
        m = re.match(r"(?i)\s+of\b", sentence[pos:])
        if m:
            pos += m.end()
    toks = _next_words(sentence, pos, 4)
    if not toks or not re.match(r"[A-Za-z\u00c0-\u024f]", toks[0][0]):
        return _Head("bare", end=n.end)
    two = " ".join(t[0].lower() for t in toks[:2])
    if len(toks) > 1 and two in v.measures:
        fam, _ = v.measures[two]
        return _Head("measure", fam, fam, toks[1][2])
    skipped = 0
    for i, (w, _s, e) in enumerate(toks[:3]):
        lw = w.lower()
        if i == skipped and (lw in v.function_words or lw in v.hedges or lw in v.post_hedges
                             or not re.match(r"[A-Za-z\u00c0-\u024f]", w)):
            return _Head("bare", end=toks[i - 1][2] if i else n.end)  # "31 across", "dozens more were"
        if lw in v.time_units:
            return _Head("time", end=e)
        if lw in v.family_nouns:
            return _Head("event", v.family_nouns[lw], "people", e)
        if lw in v.generic:
            return _Head("people", None, "people", e)
        if lw in v.subgroups:
            return _Head("people", None, v.subgroups[lw], e)
        if lw in v.households:
            return _Head("households", None, "households", e)
        if lw in v.building_nouns:
            return _Head("building", None, "buildings", e)
        if lw in v.currency_words:
            return _Head("money", "money", v.currency_words[lw], e)
        if lw in v.measures and not n.has_scale:
            fam, _ = v.measures[lw]
            return _Head("measure", fam, fam, e)
        if lw in v.modifiers or (w[:1].isupper() and i == 0 and lw not in v.not_places):
            skipped += 1
            continue  # "two dozen more people", "17 Tarsenian soldiers"
        if i == 0 and n.has_scale and re.fullmatch(r"[a-z]+", w):
            return _Head("money?", "money", lw, e)  # "11 million ostra": money if the clause says so
        return _Head("other", end=e)
    return _Head("other", end=n.end)


def _words_span(text: str, start: int, end: int, limit: int, from_end: bool) -> tuple[int, int]:
    """Narrow ``start..end`` to at most ``limit`` words next to the number."""
    toks = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    if len(toks) <= limit:
        return start, end
    if from_end:
        return start + toks[-limit][0], end
    return start, start + toks[limit - 1][1]


def _find_cue(regexes: dict[str, re.Pattern], text: str, start: int, end: int, last: bool) -> Optional[str]:
    best = None
    for fam, rx in regexes.items():
        for m in rx.finditer(text, start, end):
            key = -m.start() if last else m.start()
            if best is None or key < best[0]:
                best = (key, fam)
    return best[1] if best else None


def _family(sentence: str, n: _Num, head: _Head, clause: Span, segment_start: int, v: _Vocab
            ) -> tuple[Optional[str], Optional[str]]:
    """(family, unit) of a number from its head noun and the cue words around it; (None, None) if unknown."""
    after_s, after_e = _words_span(sentence, head.end, clause[1], 8, from_end=False)
    stop = v.cue_stop_re.search(sentence, after_s, after_e)
    after_e = stop.start() if stop else after_e  # "two men accused of killing": the men did not die
    before_s, before_e = _words_span(sentence, clause[0], n.start, 3 if head.kind == "bare" else 6, from_end=True)
    if head.kind in ("other", "time"):
        return None, None
    if head.kind == "event":
        return head.family, head.unit
    if head.kind == "measure":
        return head.family, head.unit
    if head.kind in ("money", "money?"):
        cue = v.money_cue_re.search(sentence, clause[0], clause[1])
        if head.kind == "money?" and not cue:
            return None, None
        return "money", head.unit
    if n.currency:
        return "money", n.currency
    cue = (_find_cue(v.cue_re, sentence, after_s, after_e, last=False)
           or _find_cue(v.cue_re, sentence, before_s, before_e, last=True))
    if head.kind == "building":
        return ("buildings", "buildings") if cue == "buildings" else (None, None)
    if cue == "buildings":
        cue = None  # "destroyed" needs a building noun
    if head.kind in ("people", "households"):
        if cue:
            return cue, head.unit
        default = v.default_family.get(head.unit)
        return (default, head.unit) if default else (None, None)
    # bare number: cue in its clause, else a toll phrase earlier in the sentence ("the number of dead ... at 17")
    if cue:
        return cue, "people"
    toll = _find_cue(v.toll_re, sentence, segment_start, n.start, last=True)
    if toll:
        return toll, "people"
    return None, None


# ---------------------------------------------------------------------------
# 3. Scope
# ---------------------------------------------------------------------------

def _make_scope(name: Optional[str], level: Optional[str], v: _Vocab) -> Optional[Scope]:
    if name:
        name = re.sub(r"^(?:The|the)\s+", "", name.strip().rstrip(".,"))
        name = re.sub(r"['\u2019]s$", "", name)
        parts = name.split()
        if parts and parts[-1].lower() in v.levels and len(parts) > 1:
            level = level or v.levels[parts[-1].lower()]
            parts = parts[:-1]
        key = " ".join(parts).casefold()
        if not key or key in v.not_places:
            return None
        label = name if not level or name.lower().endswith(level) else name
        return Scope(key, level, label)
    if level:
        return Scope(None, level, f"the {level}")
    return None


def _scopes_in(sentence: str, start: int, end: int, v: _Vocab) -> list[tuple[int, Scope]]:
    """Scope phrases wholly inside ``start..end``, with their positions."""
    found: list[tuple[int, Scope]] = []
    for m in v.scope_named.finditer(sentence, start, end):
        lvl = m.group("lvl")
        sc = _make_scope(m.group("name"), v.levels.get(lvl.lower()) if lvl else None, v)
        if sc and lvl:
            sc = replace(sc, label=f"{m.group('name')} {lvl}")
        if sc:
            found.append((m.start(), sc))
    for m in v.scope_of.finditer(sentence, start, end):
        sc = _make_scope(m.group("name"), v.levels[m.group("lvl").lower()], v)
        if sc:
            found.append((m.start(), replace(sc, label=f"{m.group('lvl')} of {m.group('name')}")))
    for m in v.scope_level.finditer(sentence, start, end):
        if not any(p <= m.start() < p + 1 for p, _ in found):
            found.append((m.start(), Scope(None, v.levels[m.group("lvl").lower()], f"the {m.group('lvl').lower()}")))
    for m in v.scope_adjective.finditer(sentence, start, end):
        lvl = v.adjectives.get(m.group("adj").lower())
        if lvl and lvl != "local":
            found.append((m.start(), Scope(None, lvl, m.group("adj").lower())))
    for m in v.scope_possessive.finditer(sentence, start, end):
        sc = _make_scope(m.group("name"), None, v)
        if sc:
            found.append((m.start(), sc))
    if re.search(r"(?i)\bnationwide\b|\bacross the (?:country|nation)\b", sentence[start:end]):
        found.append((start, Scope(None, "country", "nationwide")))
    return sorted(found, key=lambda p: p[0])


def _scope(sentence: str, n: _Num, head_end: int, clause: Span, segment: Span, v: _Vocab) -> Scope:
    """The scope nearest the number: its clause after it, before it, then back, then on to the next figure."""
    for start, end, last in ((head_end, clause[1], False), (clause[0], n.start, True),
                             (segment[0], clause[0], True), (clause[1], segment[1], False)):
        if end <= start:
            continue
        found = _scopes_in(sentence, start, end, v)
        if found:
            return found[-1][1] if last else found[0][1]
    return Scope()


_ACTOR_STOP = frozenset("the a an in on at but and its their his her it they he she we this that there according "
                        "meanwhile however despite officials".split())


def _actor(sentence: str, clauses: list[Span], clause: Span, n: _Num, v: _Vocab) -> frozenset:
    """Capitalised names before the number in its clause ("France has 1,500 soldiers").

    A clause that starts with "and" right after a name takes the names before it
    too ("The United States and France stationed hundreds of troops").
    """
    start = clause[0]
    while re.search(r"[A-Z][\w.\u2019'-]*\s+and$", sentence[:start]):
        start = max((s for s, _ in clauses if s < start - 4), default=0)
    names = set()
    for m in re.finditer(r"[A-Z][\w.\u2019'-]*(?:\s+[A-Z][\w.\u2019'-]*)*", sentence[start:n.start]):
        words_ = [w for w in m.group().split() if w.lower().strip(".") not in _ACTOR_STOP]
        name = re.sub(r"['\u2019]s$", "", " ".join(words_)).casefold()
        if name and name not in v.not_places:
            names.add(name)
    return frozenset(names)


# ---------------------------------------------------------------------------
# 4. Time
# ---------------------------------------------------------------------------

def _dct(article: Article, checks: dict) -> tuple[Optional[dt.date], bool]:
    """The article's date for relative times, and whether undated figures may take it."""
    check = checks.get(article.id)
    if check is not None and getattr(check, "verdict", None) == "mismatch":
        est = _as_date(getattr(check, "estimate", None))
        return est, est is not None
    if check is None and article.has_flag("date_mismatch"):
        return None, False
    if article.published_basis == "unknown":
        return None, False
    d = _as_date(article.published)
    return d, d is not None


def _as_date(value) -> Optional[dt.date]:
    if value is None:
        return None
    if _timex is not None:
        return _timex.as_date(value)
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _sentence_times(sentence: str, dct: Optional[dt.date]) -> list[tuple[Span, Optional[When]]]:
    """Temporal expressions of a sentence: (span, the days it names or None for durations and the like)."""
    if _timex is None:
        return []
    out = []
    for t in _timex.tag(sentence, dct):
        when = None
        if t.type in ("DATE", "TIME") and t.anchored and t.precision in ("time", "day", "week", "month", "year"):
            rng = _timex.value_range(t.value)
            if rng:
                when = When(rng[0], rng[1], rng[1], True)
        out.append((t.span, when))
    return out


def _time(sentence: str, n: _Num, clause: Span, times: list, dct: Optional[dt.date], implicit: bool,
          others: list[Span], v: _Vocab) -> Optional[When]:
    """The date the figure refers to: one named in its clause, else in its sentence, else the article's.

    ``others`` are the clauses of the sentence's other figures: a date inside one of
    them belongs to that figure ("9,000 remain, down from a peak of 14,000 last week").
    """
    usable = []
    for (s, _e), when in times:
        if when is None:
            continue
        in_clause = clause[0] <= s < clause[1]
        if not in_clause and any(a <= s < b for a, b in others):
            continue
        lead_start = max(s - 60, n.end if n.end <= s else 0, 0)
        if v.time_since.search(" ".join(sentence[lead_start:s].split()[-6:])):
            continue  # "stranded since the dam gave way on Tuesday": when it began, not when it was counted
        before = s < n.start
        coarse = when.hi - when.lo > dt.timedelta(days=7)  # a month or year: the last resort outside the clause
        usable.append(((0 if in_clause else 3 if coarse else 1 if before else 2), abs(s - n.start), when))
    if usable:
        return min(usable, key=lambda u: u[:2])[2]
    if implicit and dct:
        return When(dct - dt.timedelta(days=v.lag), dct, dct, False)
    return None


# ---------------------------------------------------------------------------
# Figures of one article
# ---------------------------------------------------------------------------

def _counted(sentence: str, nums: list[_Num], v: _Vocab) -> tuple[list[Span], list[tuple[_Num, str, str, _Head]]]:
    """The sentence's clauses, and its numbers that count something, with (family, unit, head)."""
    clauses = _clauses(sentence, nums, v)
    kept: list[tuple[_Num, str, str, _Head]] = []
    for n in nums:
        clause = _clause_of(clauses, n)
        if v.modal_re.search(sentence, clause[0], n.start):
            continue  # "could kill up to 500": not a reported figure
        head = _head(sentence, n, v)
        if n.word and n.value == 1 and head.kind in ("bare", "other"):
            continue  # "one of", "one can't say"
        seg_start = kept[-1][0].end if kept else 0
        family, unit = _family(sentence, n, head, clause, seg_start, v)
        if family is None and head.kind == "bare" and kept and _may_inherit(sentence, n, v):
            family, unit = kept[-1][1], kept[-1][2]  # "17 ... died in Selm District and 31 across the province"
        elif head.kind in ("bare", "event") and kept and unit == "people" and kept[-1][2] in v.subgroups.values():
            unit = kept[-1][2]  # "17 soldiers were killed and nearly two dozen wounded"
        if family is None:
            continue
        kept.append((n, family, unit, head))
    return clauses, kept


def _may_inherit(sentence: str, n: _Num, v: _Vocab) -> bool:
    """Whether a bare number continues the figure before it ("and 31 across the province"),
    rather than counting a part of it ("four from friendly fire")."""
    nxt = _next_words(sentence, n.end, 1)
    return not nxt or not nxt[0][0][:1].isalpha() or nxt[0][0].lower() in v.inherit_followers


# Work per number looks at its clause and the text before it, so one sentence costs about
# (numbers x length): a "sentence" of 64 KB (a flattened table, "1, 1, 1, ...") took minutes.
# Longer sentences are read in windows, and a window dense with numbers is a list, not figures.
MAX_SENTENCE_CHARS = 1000
MAX_NUMBERS = 40


def sentence_figures(sentence: str, dct: Optional[dt.date] = None, implicit: bool = True,
                     article_id: str = "", offset: int = 0) -> list[Figure]:
    """Figures of one sentence.

    Args:
        sentence: the sentence text.
        dct: the article's date (relative dates are resolved against it).
        implicit: whether a figure with no date of its own takes ``dct``.
        article_id: copied into each figure.
        offset: where the sentence starts in the article (figure spans are article offsets).
    """
    if len(sentence) > MAX_SENTENCE_CHARS:
        return [f for s, e in _windows(sentence, MAX_SENTENCE_CHARS)
                for f in _window_figures(sentence[s:e], dct, implicit, article_id, offset + s)]
    return _window_figures(sentence, dct, implicit, article_id, offset)


def _windows(text: str, size: int) -> list[Span]:
    """Consecutive spans of at most ``size`` chars, cut after a clause mark or a space when there is one."""
    out, start = [], 0
    while len(text) - start > size:
        cut = max(text.rfind(mark, start + size // 2, start + size) for mark in ("; ", ", ", " "))
        end = cut + 1 if cut > start else start + size
        out.append((start, end))
        start = end
    out.append((start, len(text)))
    return out


def _window_figures(sentence: str, dct: Optional[dt.date], implicit: bool, article_id: str,
                    offset: int) -> list[Figure]:
    v = vocab()
    numbers = v.any_number.finditer(sentence)
    if sum(1 for _ in zip(range(MAX_NUMBERS + 1), numbers)) > MAX_NUMBERS:
        return []  # a list or a table of numbers: no one figure in it is a reported count
    nums = [n for n in find_numbers(sentence, v)
            if not v.partitive.match(sentence[n.end:]) and not v.anaphoric.search(sentence, 0, n.start)]
    if not nums or not _counted(sentence, nums, v)[1]:
        return []  # the date tagger is the costly part: run it only where something is counted
    times = _sentence_times(sentence, dct)
    time_spans = [s for s, _ in times]
    nums = [n for n in nums if n.hedge == "vague"
            or not any(s <= n.start < e or n.start <= s < n.end for s, e in time_spans)]
    clauses, kept = _counted(sentence, nums, v)
    out = []
    for i, (n, family, unit, head) in enumerate(kept):
        clause = _clause_of(clauses, n)
        segment = (kept[i - 1][0].end if i else 0, kept[i + 1][0].start if i + 1 < len(kept) else len(sentence))
        scope = _scope(sentence, n, max(head.end, n.end), clause, segment, v)
        if scope.empty and i:
            lead = _scopes_in(sentence, 0, kept[0][0].start, v)  # "In Central Aceh district, 10 were killed, 140 injured"
            scope = lead[-1][1] if lead else scope
        if v.families.get(family, {}).get("actor") or family == "money":
            scope = replace(scope, actor=_actor(sentence, clauses, clause, n, v))
        detail = ""
        if family == "money":
            m = v.money_cue_re.search(sentence, clause[0], clause[1])
            detail = m.group().lower() if m else ""
        others = [_clause_of(clauses, m) for m, *_ in kept if m is not n]
        when = _time(sentence, n, clause, times, dct, implicit, others, v)
        value, lo, hi = n.value, n.lo, n.hi
        if family in v.measure_labels:
            detail = _unit_word(sentence, n, v)
            factor = v.measures.get(detail, (family, 1.0))[1]
            value, lo, hi = value * factor, lo * factor, hi * factor
        update = bool(v.update_re.search(sentence, clause[0], n.start))
        out.append(Figure(article_id, (offset, offset + len(sentence)), (offset + n.start, offset + n.end),
                          sentence[n.start:n.end], value, lo, hi, n.hedge, family, unit, scope, when, detail,
                          update))
    return out


def _unit_word(sentence: str, n: _Num, v: _Vocab) -> str:
    toks = _next_words(sentence, n.end, 2)
    two = " ".join(t[0].lower() for t in toks)
    if two in v.measures:
        return two
    return toks[0][0].lower() if toks else ""


def article_figures(article: Article, dct: Optional[dt.date] = None, implicit: bool = True) -> list[Figure]:
    """Figures of every sentence of one article (empty for non-English articles)."""
    if not article.is_english:
        return []
    v = vocab()
    out: list[Figure] = []
    text = article.text
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        if not v.any_number.search(sentence):
            continue
        out += sentence_figures(sentence, dct, implicit, article.id, s)
    return resolve_levels(out, text)


@functools.lru_cache(maxsize=None)
def _named_level_re(level: str) -> re.Pattern:
    words_ = [w for w, lvl in vocab().levels.items() if lvl == level]
    return re.compile(rf"((?:[A-Z][\w\u00c0-\u024f'\u2019-]*\s+)+)(?i:{alternation(words_)})(?![\w-])")


def resolve_levels(figures: list[Figure], text: str) -> list[Figure]:
    """Give "the district" the name of the district the article named last before it ("Selm District")."""
    out = []
    for f in figures:
        sc = f.scope
        if sc.name is None and sc.level:
            last = None
            for m in _named_level_re(sc.level).finditer(text, 0, f.span[0]):
                last = m
            if last:
                words_ = re.split(r"['\u2019]s\s+", last.group(1).strip())[-1].split()
                while words_ and words_[0].lower() in _ACTOR_STOP:
                    words_ = words_[1:]
                if words_ and " ".join(words_).casefold() not in vocab().not_places:
                    label = " ".join(words_) + " " + last.group(0)[len(last.group(1)):]
                    f = replace(f, scope=replace(sc, name=" ".join(words_).casefold(), label=label))
        out.append(f)
    return out
