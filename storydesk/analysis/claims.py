"""Claims: figures stated across articles, counted by independent support, conflicts shown.

A *figure* is a number in a sentence of an English article that counts something a
reader cares about: deaths, injured, missing, people displaced or rescued, troops,
buildings destroyed, money. For each one we read

* its **value** and **hedge** ("at least 23" is the interval [23, inf), "about 9,000"
  is 9,000 +/- 10 %, "dozens" is [24, 99]; a round "14,000" is 14,000 +/- 500),
* its **family** (what it counts) from the noun after it or the cue words of its
  clause ("17 people had died", "killed at least 41 people", "the death toll
  climbed to 38"), and *who* is counted ("17 soldiers" is not "17 people"),
* its **scope** (where it holds: "in Selm District" vs "across the province"),
* its **time** (a date named in the sentence, resolved with :func:`storydesk.analysis.timex.tag`
  against the article's date, else the article's date).

Mentions of one story with the same family, who, compatible scope, value and time
become one :class:`Claim`; ``independent_support`` counts distinct source groups,
so the copies of one wire story count once. Two claims *conflict* when they count
the same thing in the same place at the same time with values that cannot both be
true (hedges respected). A toll that rises over days is an update, not a conflict.

Sentences that independent sources state in nearly the same words (no figure, same
names and numbers) become claims too, but only with two or more source groups.

Everything is regular expressions over ``storydesk/data/claims.json`` plus the date
tagger on sentences that hold a figure: no parser, 2-4 ms per article on one core.
What a claim counts (value, hedge, family, scope, date) is kept in the store's state
``claims.figures.v1`` (:func:`figure_summaries`) until Claim has fields for it.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

from ..pipeline import Analysis, stage
from .. import work
from ..records import Article, Citation, Claim, Flag, Record, content_id
from ..text import alternation, load_data, normalise, sentence_spans, words

Span = tuple[int, int]
INF = math.inf
FIGURES_CACHE = "claim_figures"  # analysis.cache key: claim id -> its Figure mentions
FIGURES_STATE = "claims.figures.v1"  # store state: claim id -> summary of what it counts (JSON)

try:  # timex is another contributor's module: without it every figure takes its article's date
    from . import timex as _timex
except Exception:  # pragma: no cover - only when timex.py is broken or absent
    _timex = None


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------



class _Vocab:
    """claims.json, compiled once."""

    def __init__(self, d: dict):
        nw = d["number_words"]
        self.units, self.tens, self.scales, self.dozen = nw["units"], nw["tens"], nw["scales"], nw["dozen"]
        self.suffixes = d["scale_suffixes"]
        word = rf"(?:{alternation(self.tens)})(?:[\s-]+(?:{alternation(self.units)}))?|{alternation(self.units)}"
        self.word_number = re.compile(
            rf"(?<![\w-])(?:(?:an?|{word})(?:[\s-]+(?:and\s+)?(?:{word}|{alternation(self.scales)}|dozen))*)(?![\w-])", re.I)
        self.vague = {k: tuple(v) for k, v in d["vague"].items()}
        mult = d["vague_multipliers"]
        self.vague_re = re.compile(
            rf"(?<![\w-])(?:(?P<mult>{alternation(mult)})\s+(?P<scale>{alternation(self.scales)}|dozen)|(?P<vague>{alternation(self.vague)}))(?![\w-])",
            re.I)
        self.multipliers = {k: tuple(v) for k, v in mult.items()}
        curs = d["currency_symbols"]
        self.currency_symbols = curs
        self.digits = re.compile(
            rf"(?P<cur>{alternation(curs)})?\s?(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
            rf"(?:(?P<suf>{alternation(self.suffixes)})\b|\s+(?P<scale>{alternation(self.scales)})\b)?")
        self.any_number = re.compile(
            rf"\d|(?<![\w-])(?:{alternation([*self.units, *self.tens, *self.scales, 'dozen', *self.vague])})s?(?![\w])", re.I)
        self.hedges = d["hedges"]
        self.hedge_before = re.compile(rf"(?:^|(?<=[\s(\"'\u201c]))(?P<h>{alternation(self.hedges)})\s+$", re.I)
        self.post_hedges = d["post_hedges"]
        self.hedge_after = re.compile(rf"^[\s-]*(?P<h>{alternation(self.post_hedges)})\b", re.I)
        self.tolerance = float(d["approx_tolerance"])
        self.families = d["families"]
        self.family_nouns = {n: f for f, spec in self.families.items() for n in spec["nouns"]}
        self.cue_re = {f: re.compile(rf"(?<![\w-])(?:{alternation(spec['cues'])})(?![\w-])", re.I)
                       for f, spec in self.families.items() if spec["cues"]}
        self.toll_re = {f: re.compile(rf"(?<![\w-])(?:{alternation(spec['toll_cues'])})(?![\w-])", re.I)
                        for f, spec in self.families.items() if spec.get("toll_cues")}
        p = d["people"]
        self.generic = frozenset(p["generic"])
        self.subgroups = p["subgroups"]
        self.households = frozenset(p["households"])
        self.default_family = p["default_family"]
        self.modifiers = frozenset(p["modifiers"])
        self.building_nouns = frozenset(d["building_nouns"])
        self.currency_words = d["currency_words"]
        self.money_cue_re = re.compile(rf"(?<![\w-])(?:{alternation(d['money_cues'])})(?![\w-])", re.I)
        self.measures = {k: tuple(v) for k, v in d["measures"].items()}
        self.measure_labels = d["measure_labels"]
        sc = d["scope"]
        self.levels = sc["levels"]
        self.not_places = frozenset(sc["not_places"])
        cap = r"[A-Z][\w\u00c0-\u024f'\u2019.-]*"
        name = rf"{cap}(?:\s+(?:of\s+|de\s+|al-)?{cap})*"
        preps = f"(?i:{alternation(sc['prepositions'])})"
        self.scope_named = re.compile(
            rf"(?<![\w-])(?:{preps})\s+(?:the\s+)?(?:{name}['\u2019]s\s+)?(?:[a-z][\w-]*\s+)?"
            rf"(?P<name>{name})(?:\s+(?P<lvl>{alternation(self.levels)})\b)?")
        self.scope_of = re.compile(
            rf"(?<![\w-]){preps}\s+(?:the\s+)?(?:[a-z][\w-]*\s+)?(?P<lvl>{alternation(self.levels)})\s+of\s+(?P<name>{name})")
        self.scope_level = re.compile(
            rf"(?<![\w-])(?:{preps})\s+(?:the|this|that|its|their)\s+(?:(?:entire|whole|same|affected|flooded|[a-z]+-hit)\s+)?"
            rf"(?P<lvl>{alternation(self.levels)})\b", re.I)
        figure_nouns = alternation(sc["figure_nouns"])
        self.scope_adjective = re.compile(
            rf"(?<![\w-])(?P<adj>{alternation(sc['adjectives'])})\s+(?:(?:official|overall|confirmed|death|casualty)\s+)?"
            rf"(?:{figure_nouns})(?![\w-])", re.I)
        self.adjectives = {k.lower(): v for k, v in sc["adjectives"].items()}
        self.scope_possessive = re.compile(
            rf"(?P<name>{name})['\u2019]s\s+(?:(?:official|overall|confirmed)\s+)?(?:{figure_nouns})(?![\w-])")
        self.clause_break = re.compile(
            rf"[;:()\[\]\u2014\u2013]|,(?!\d)|\s-\s|(?<![\w-])(?:{alternation(d['clause_breaks'])})(?![\w-])", re.I)
        self.function_words = frozenset(d["function_words"])
        self.modal_re = re.compile(rf"(?<![\w-])(?:{alternation(d['modal_cues'])})(?![\w-])", re.I)
        self.age_before = re.compile(rf"(?<![\w-])(?:{alternation(d['age_cues'])})\s+$", re.I)
        self.age_after = re.compile(rf"^[\s-]*(?:{alternation(d['age_cues'])})\b", re.I)
        self.partitive = re.compile(rf"^\s+(?:{alternation(d['partitive'])})\b", re.I)
        self.time_units = frozenset(d["time_units"])
        self.time_since = re.compile(rf"(?<![\w-])(?:{alternation(d['time_since'])})(?![\w-])", re.I)
        self.lag = int(d["undated_lag_days"])
        self.cue_stop_re = re.compile(rf"(?<![\w-])(?:{alternation(d['cue_stoppers'])})(?![\w-])", re.I)
        self.inherit_followers = frozenset(d["inherit_followers"])
        self.anaphoric = re.compile(rf"(?<![\w-])(?:{alternation(d['anaphoric'])})\s+$", re.I)
        self.max_ratio = float(d["max_conflict_ratio"])
        self.update_re = re.compile(rf"(?<![\w-])(?:{alternation(d['update_cues'])})\s+(?:\S+\s+){{0,2}}$", re.I)


@functools.lru_cache(maxsize=1)
def vocab() -> _Vocab:
    """The compiled claims vocabulary."""
    return _Vocab(load_data("claims.json"))


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


@dataclass
class _Num:
    """A number found in a sentence, before we know what it counts."""

    start: int  # offsets into the sentence
    end: int
    value: float
    lo: float
    hi: float
    hedge: str
    surface: str  # the number alone
    currency: Optional[str] = None
    word: bool = False  # spelled out ("nine")
    has_scale: bool = False  # "40 million"
    vague_of: bool = False  # "dozens of", "hundreds of"


# ---------------------------------------------------------------------------
# 1. Numbers
# ---------------------------------------------------------------------------

def _word_value(text: str, v: _Vocab) -> Optional[float]:
    """Value of a spelled-out number ("two dozen", "one hundred and twenty", "twenty-three")."""
    total, current, seen = 0.0, 0.0, False
    for w in re.split(r"[\s-]+", text.lower()):
        if w in ("and", ""):
            continue
        if w in ("a", "an"):
            current = max(current, 1.0)
        elif w in v.units:
            current += v.units[w]
            seen = True
        elif w in v.tens:
            current += v.tens[w]
            seen = True
        elif w == "dozen":
            current = (current or 1.0) * v.dozen
            seen = True
        elif w == "hundred":
            current = (current or 1.0) * 100
            seen = True
        elif w in v.scales:
            total += (current or 1.0) * v.scales[w]
            current, seen = 0.0, True
        else:
            return None
    return total + current if seen else None


def _rounding(value: float) -> float:
    """Half the rounding unit of a round figure (14,000 -> 500), 0 for one that looks exact."""
    if not math.isfinite(value) or value < 100 or value != int(value):
        return 0.0
    unit = 1
    while value % (unit * 10) == 0 and value / (unit * 10) >= 1:
        unit *= 10
    return unit / 2 if unit >= 100 else 0.0


def _interval(value: float, hedge: str, v: _Vocab) -> tuple[float, float]:
    t = v.tolerance
    r = _rounding(value)
    if hedge == "exact":
        return value - r, value + r
    if hedge in ("min", "min_excl"):
        return value, INF  # "more than 40" and "40 or more" do not contradict 40
    if hedge in ("max", "max_excl"):
        return 0.0, value
    if hedge == "approx":
        return value * (1 - t) - r, value * (1 + t) + r
    if hedge == "near_below":
        return value * (1 - t) - r, value
    if hedge == "near_above":
        return value, value * (1 + t) + r
    return value, value


def _is_garbage(sentence: str, start: int, end: int, surface: str, v: _Vocab) -> bool:
    """Numbers that are not counts: years, phone numbers, ids, clock times, compounds, ages."""
    before, after = sentence[:start], sentence[end:]
    if re.fullmatch(r"(19|20)\d\d", surface):
        return True  # a year ("in 2021"), even where the tagger missed it
    if re.fullmatch(r"0\d+", surface):
        return True  # a code or a badly split "31, 000"
    if re.match(r"^(?:[-/:.]\d|[%\u2030]|\s*(?:per\s*cent|percent)\b|[-\u2011][A-Za-z]|[A-Za-z])", after):
        return True  # 10:30, 3-1, 60%, 30,000-seat, 52-year-old, 1st
    if re.search(r"(?:[A-Za-z]|[A-Za-z][-\u2011]|[#/:]|No\.\s?)$", before):
        return True  # COVID-19, A320, #5, No. 5
    run = re.search(r"[+(]?[\d(][\d\s().+-]*$", before[-20:])
    tail = re.match(r"^[\d\s().-]*\d", after)
    blob = (run.group() if run else "") + surface + (tail.group() if tail else "")
    if sum(c.isdigit() for c in blob) >= 7 and re.search(r"\d[\s().-]+\d", blob):
        return True  # phone numbers and other digit groups
    if v.age_before.search(before) or v.age_after.match(after):
        return True
    if re.search(r"[A-Z][\w\u00c0-\u024f'-]*,\s*$", before) and re.match(r"^\s*,", after):
        return True  # "Dana Koller, 52, stood"
    prev = re.search(r"\b([A-Z][a-z]+)\s+$", before)
    if prev and before[:prev.start()].strip() and prev.group(1).lower() not in v.not_places \
            and not v.hedge_before.search(before):
        return True  # a name's number, not a count: Route 66, Article 5, Apollo 11
    return False


def find_numbers(sentence: str, v: Optional[_Vocab] = None) -> list[_Num]:
    """Numbers written in ``sentence`` with their hedge and interval (garbage numbers dropped)."""
    v = v or vocab()
    cands: list[_Num] = []
    for m in v.digits.finditer(sentence):
        num = m.group("num")
        start, end = m.start("num"), m.end()
        if m.group("cur"):
            start = m.start("cur")
        value = float(num.replace(",", ""))
        if value > MAX_VALUE:
            continue  # a 310-digit "number" is an id or garbage (and is infinite as a float)
        scale = m.group("suf") or m.group("scale")
        if scale:
            factor = v.suffixes.get(scale.lower()) if m.group("suf") else v.scales[scale.lower()]
            nxt = re.match(r"\s+([A-Za-z]+)", sentence[m.end():])
            money_word = bool(nxt and nxt.group(1).lower() in v.currency_words)
            if m.group("suf") and not m.group("cur") and scale.lower() in ("m", "b", "k") and not money_word:
                end = m.end("num")  # "40m" alone may be metres: keep the bare number
                factor = None
            value *= factor or 1
        if _is_garbage(sentence, m.start("num"), end if m.group("suf") else m.end("num"), num, v):
            continue
        cur = v.currency_symbols.get(m.group("cur")) if m.group("cur") else None
        cands.append(_Num(start, end, value, value, value, "exact", sentence[start:end], cur,
                          has_scale=bool(scale and end > m.end("num"))))
    for m in v.word_number.finditer(sentence):
        text = m.group().strip()
        if text.lower() in ("a", "an"):
            continue
        value = _word_value(text, v)
        if value is None:
            continue
        cands.append(_Num(m.start(), m.start() + len(text), value, value, value, "exact", text, word=True,
                          has_scale=bool(re.search(r"(?i)hundred|thousand|million|billion|trillion", text))))
    for m in v.vague_re.finditer(sentence):
        if m.group("vague"):
            lo, hi = v.vague[" ".join(m.group("vague").lower().split())]
        else:
            a, b = v.multipliers[" ".join(m.group("mult").lower().split())]
            s = m.group("scale").lower()
            unit = v.dozen if s == "dozen" else v.scales[s]
            lo, hi = a * unit, b * unit
        cands.append(_Num(m.start(), m.end(), (lo + hi) / 2, lo, hi, "vague", m.group(), word=True,
                          vague_of=True))
    nums = _longest(cands)
    out = []
    for n in nums:
        _apply_hedge(sentence, n, v)
        out.append(n)
    return _ranges(sentence, out)


def _longest(cands: list[_Num]) -> list[_Num]:
    cands.sort(key=lambda n: (n.start, -(n.end - n.start)))
    out: list[_Num] = []
    for n in cands:
        if out and n.start < out[-1].end:
            continue
        out.append(n)
    return out


def _apply_hedge(sentence: str, n: _Num, v: _Vocab) -> None:
    if n.hedge == "vague":
        return
    m = v.hedge_before.search(sentence[:n.start])
    hedge = "exact"
    if m:
        hedge = v.hedges[" ".join(m.group("h").lower().split())]
        n.start = m.start("h")
    else:
        a = v.hedge_after.match(sentence[n.end:])
        if a:
            hedge = v.post_hedges[" ".join(a.group("h").lower().split())]
            n.end += a.end()
    n.hedge = hedge
    n.lo, n.hi = _interval(n.value, hedge, v)


def _ranges(sentence: str, nums: list[_Num]) -> list[_Num]:
    """Join "between 10 and 15" and "10-15" into one range figure."""
    out: list[_Num] = []
    i = 0
    while i < len(nums):
        n = nums[i]
        if i + 1 < len(nums):
            m = nums[i + 1]
            gap = sentence[n.end:m.start]
            between = re.search(r"(?i)\bbetween\s+$", sentence[:n.start]) and re.fullmatch(r"\s+and\s+", gap)
            dash = re.fullmatch(r"\s?[-\u2013]\s?", gap) and not n.word and not m.word
            if (between or dash) and m.value > n.value and n.hedge == m.hedge == "exact":
                start = n.start - (len(between.group()) if between else 0)
                out.append(_Num(start, m.end, (n.value + m.value) / 2, n.value, m.value, "range",
                                sentence[start:m.end], n.currency or m.currency, has_scale=m.has_scale))
                i += 2
                continue
        out.append(n)
        i += 1
    return out


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
MAX_VALUE = 1e15  # no count, toll or sum in news is larger


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


# ---------------------------------------------------------------------------
# 5. Grouping into claims
# ---------------------------------------------------------------------------

def same_scope(a: Scope, b: Scope) -> bool:
    """True when two scopes name the same place (both unscoped counts as the same)."""
    if a.actor != b.actor:
        return False
    if a.name and b.name:
        return a.name == b.name and (a.level == b.level or a.level is None or b.level is None)
    if a.name or b.name:
        return False
    return a.level == b.level


def compatible_scope(a: Scope, b: Scope) -> bool:
    """True when two mentions may state the same claim (equal places, or one of them names none)."""
    if a.actor and b.actor and a.actor != b.actor:
        return False
    if a.empty or b.empty:
        return True
    return same_scope(replace(a, actor=frozenset()), replace(b, actor=frozenset()))


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


def _monotone(family: str) -> bool:
    return bool(vocab().families.get(family, {}).get("monotone"))


def _comparable(family: str, detail: str) -> bool:
    """Whether figures of this family may be called conflicting at all."""
    if family in vocab().measure_labels:
        return False  # a sentence rarely says which height or distance it measures
    if family == "money":
        return bool(detail)
    return True


@dataclass
class _Group:
    family: str
    unit: str
    value: float
    scope: Scope
    members: list[Figure] = field(default_factory=list)

    def time_ok(self, f: Figure) -> bool:
        if _monotone(self.family):
            return True  # a cumulative count with the same value is the same fact on any day
        return all(f.when is None or m.when is None or f.when.overlaps(m.when) for m in self.members)

    def accepts(self, f: Figure, strict: bool) -> bool:
        if f.value != self.value and not self._near(f):
            return False
        if f.detail != self.members[0].detail:
            return False
        scope_ok = same_scope(f.scope, self.scope) if strict else compatible_scope(f.scope, self.scope)
        return scope_ok and self.time_ok(f)

    def _near(self, f: Figure) -> bool:
        """An approximate figure within the other's hedge ("about 600" and "620")."""
        approx = ("approx", "near_below", "near_above")
        return (f.hedge in approx or self.members[0].hedge in approx) and all(f.compatible(m) for m in self.members)

    def add(self, f: Figure) -> None:
        self.members.append(f)
        if self.scope.empty and not f.scope.empty:
            self.scope = f.scope
        elif f.scope.actor and not self.scope.actor:
            self.scope = replace(self.scope, actor=f.scope.actor)


def _group(figures: list[Figure], order: dict[str, int]) -> list[_Group]:
    buckets: dict[tuple, list[Figure]] = defaultdict(list)
    for f in figures:
        buckets[(f.family, f.unit)].append(f)
    groups: list[_Group] = []
    for (family, unit), figs in buckets.items():
        figs.sort(key=lambda f: (f.scope.empty, order.get(f.article_id, 0), f.span[0]))
        mine: list[_Group] = []
        for f in figs:
            home = next((g for g in mine if g.accepts(f, strict=True)), None) \
                or next((g for g in mine if g.accepts(f, strict=False)), None)
            if home is None:
                home = _Group(family, unit, f.value, f.scope)
                mine.append(home)
            home.add(f)
        groups += mine
    return groups


def _conflicting_pair(a: Figure, b: Figure, wa: Optional[When], wb: Optional[When]) -> bool:
    """True when two mentions (of different articles), dated ``wa`` and ``wb``, cannot both be right."""
    if a.article_id == b.article_id or a.compatible(b) or "vague" in (a.hedge, b.hedge):
        return False
    high, low = (a, b) if a.lo > b.hi else (b, a)
    if low.hi > 0 and high.lo / low.hi > vocab().max_ratio:
        return False  # "16 injured" in one street and "3,000 wounded" overall count different things
    if wa is None or wb is None or not wa.overlaps(wb):
        return False
    if _monotone(a.family):
        high, low, wh, wl = (a, b, wa, wb) if a.lo > b.hi else (b, a, wb, wa)
        if high.update and wh.ref >= wl.ref:
            return False  # "the toll climbed to 38": the lower count is the one it replaced
        if wa.ref != wb.ref:
            return wh.ref < wl.ref  # a cumulative count that went down within a day
    return wa.ref == wb.ref  # a count that goes up and down, on two days, is no conflict


def _first_report(g: _Group) -> Optional[When]:
    """When a cumulative count was first reported (later re-reports repeat it, they do not re-date it)."""
    dated = [m.when for m in g.members if m.when]
    return min(dated, key=lambda w: (w.ref, not w.explicit)) if dated else None


def _conflict(g: _Group, h: _Group) -> Optional[tuple[Figure, Figure]]:
    if not _comparable(g.family, g.members[0].detail) or g.members[0].detail != h.members[0].detail:
        return None
    if not same_scope(g.scope, h.scope):
        return None
    monotone = _monotone(g.family)
    first_g, first_h = _first_report(g), _first_report(h)
    for a in g.members:
        for b in h.members:
            wa = first_g if monotone and a.when else a.when
            wb = first_h if monotone and b.when else b.when
            if _conflicting_pair(a, b, wa, wb):
                return a, b
    return None


# ---------------------------------------------------------------------------
# 6. Claims
# ---------------------------------------------------------------------------

def _support(members: list[Figure], group_of: dict[str, str], texts: dict[tuple[str, Span], str]) -> int:
    """Distinct origins among the articles; articles sharing a long identical sentence share an origin too."""
    union: dict[str, str] = {}

    def find(x: str) -> str:
        while union.get(x, x) != x:
            x = union[x]
        return x

    first: dict[str, str] = {}  # normalised sentence -> origin of the first article that has it
    for f in members:
        origin = find(group_of.get(f.article_id, f.article_id))
        norm = texts.get((f.article_id, f.sentence))
        if norm and len(norm.split()) >= 6:  # a copy that provenance missed is still a copy
            other = find(first.setdefault(norm, origin))
            if other != origin:
                union[origin] = other
    return len({find(group_of.get(f.article_id, f.article_id)) for f in members})


def _clarity(f: Figure, article: Article, figure_count: int) -> tuple:
    sentence = article.text[f.sentence[0]:f.sentence[1]]
    quoted = bool(re.search("[\"\u201c\u201d]", sentence))
    n_words = len(sentence.split())
    return (f.scope.empty, figure_count > 1, quoted, abs(n_words - 22), f.span[0])


def _fmt_value(f: Figure) -> str:
    text = " ".join(f.text.split())
    return text[:1].lower() + text[1:] if text[:1].isalpha() else text


def _label(f: Figure) -> str:
    v = vocab()
    if f.family == "money":
        unit = "" if f.text[:1] in v.currency_symbols or f.text[:3] == "US$" else f.unit
        return " ".join([unit, f"({f.detail})" if f.detail else ""]).strip()
    if f.family in v.measure_labels:
        return f.detail  # the unit as written ("millimetres")
    label = v.families.get(f.family, {}).get("label", f.family)
    if f.unit not in ("people",) and f.family not in ("troops", "buildings"):
        label = f"{label} ({f.unit})"
    return label


def _scope_text(s: Scope) -> str:
    if not s.label:
        return ""
    return f" in {s.label}" if s.name or not s.label.startswith(("provincial", "national", "nationwide")) else f" ({s.label})"


def _claim_id(story: str, g: _Group) -> str:
    when = ""
    if not _monotone(g.family):
        days = sorted({m.when.ref.isoformat() for m in g.members if m.when})
        when = days[0] if days else ""
    return content_id("c", story, g.family, g.unit, g.scope.name or "", g.scope.level or "",
                      ",".join(sorted(g.scope.actor)), repr(g.value), g.members[0].detail, when)


def build_claims(figures: list[Figure], articles: dict[str, Article], story_of: dict[str, str],
                 group_of: dict[str, str], order: Optional[dict[str, int]] = None,
                 figures_of: Optional[dict[str, list[Figure]]] = None,
                 summaries: Optional[dict[str, dict]] = None) -> list[Claim]:
    """Group figure mentions into claims, count support and mark conflicts.

    Args:
        figures: figure mentions of any number of articles.
        articles: article id -> Article (for sentence texts).
        story_of: article id -> story id; figures of different stories never meet.
        group_of: article id -> source group key (copies of one origin share it).
        order: article id -> arrival position (earlier articles come first).
        figures_of: if given, filled with claim id -> its figure mentions (value, hedge,
            family, scope, date), which a Claim record has no fields for.
        summaries: if given, filled with claim id -> a JSON-ready summary of what it counts.
    """
    order = order or {aid: i for i, aid in enumerate(articles)}
    by_story: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        by_story[story_of.get(f.article_id, f.article_id)].append(f)
    texts = {(f.article_id, f.sentence): normalise(articles[f.article_id].text[f.sentence[0]:f.sentence[1]])
             for f in figures}
    per_sentence: dict[tuple, int] = defaultdict(int)
    for f in figures:
        per_sentence[(f.article_id, f.sentence)] += 1
    claims: list[Claim] = []
    for story, figs in by_story.items():
        groups = _group(figs, order)
        made: list[tuple[_Group, Claim]] = []
        seen_ids: set[str] = set()
        for g in groups:
            made.append((g, _make_claim(story, g, articles, group_of, texts, per_sentence, order, seen_ids)))
        _mark_conflicts(made)
        if figures_of is not None:
            figures_of.update({c.id: list(g.members) for g, c in made})
        if summaries is not None:
            summaries.update({c.id: _summary(g.members, g.scope) for g, c in made})
        made.sort(key=lambda p: (min(order.get(m.article_id, 0) for m in p[0].members),
                                 min(m.span[0] for m in p[0].members if order.get(m.article_id, 0) ==
                                     min(order.get(x.article_id, 0) for x in p[0].members))))
        claims += [c for _, c in made]
    return claims


def _make_claim(story: str, g: _Group, articles: dict[str, Article], group_of: dict[str, str],
                texts: dict, per_sentence: dict, order: dict[str, int], seen_ids: set[str]) -> Claim:
    best_per_article: dict[str, Figure] = {}
    for f in g.members:
        cur = best_per_article.get(f.article_id)
        key = _clarity(f, articles[f.article_id], per_sentence[(f.article_id, f.sentence)])
        if cur is None or key < _clarity(cur, articles[cur.article_id], per_sentence[(cur.article_id, cur.sentence)]):
            best_per_article[f.article_id] = f
    chosen = sorted(best_per_article.values(), key=lambda f: order.get(f.article_id, 0))
    lead = min(chosen, key=lambda f: (_clarity(f, articles[f.article_id], per_sentence[(f.article_id, f.sentence)]),
                                      order.get(f.article_id, 0)))
    text = articles[lead.article_id].text[lead.sentence[0]:lead.sentence[1]]
    citations = [Citation(lead.article_id, lead.sentence)] + [Citation(f.article_id, f.sentence)
                                                              for f in chosen if f is not lead]
    support = _support(g.members, group_of, texts)
    cid = _claim_id(story, g)
    while cid in seen_ids:
        cid = content_id("c", cid, text)
    seen_ids.add(cid)
    flags = []
    if support == 1:
        n = len(chosen)
        flags.append(Flag("single_source", "stated by one source" +
                          (f" ({n} articles sharing one origin)" if n > 1 else "")))
    return Claim(id=cid, text=text, citations=citations, independent_support=support, flags=flags,
                 label=figure_label(g.members, g.scope))


def _mark_conflicts(made: list[tuple[_Group, Claim]]) -> None:
    by_key: dict[tuple, list[tuple[_Group, Claim]]] = defaultdict(list)
    for g, c in made:
        by_key[(g.family, g.unit)].append((g, c))
    for pairs in by_key.values():
        for i, (g, c) in enumerate(pairs):
            for h, d in pairs[i + 1:]:
                hit = _conflict(g, h)
                if not hit:
                    continue
                a, b = hit
                c.conflicts.append(d.id)
                d.conflicts.append(c.id)
                c.flags.append(Flag("conflict", conflict_detail(a, b, g.scope)))
                d.flags.append(Flag("conflict", conflict_detail(b, a, g.scope)))


def figure_label(members: list[Figure], scope: Optional[Scope] = None) -> str:
    """One line saying what a claim counts: "at least 9 deaths in Korvath Province, 2025-10-22"."""
    lead = members[0]
    dated = [m.when for m in members if m.when]
    when = min(dated, key=lambda w: (w.ref, not w.explicit)) if dated else None
    day = f", {when.label}" if when else ""
    words_ = f"{_fmt_value(lead)} {_label(lead)}".split()
    return " ".join(words_) + _scope_text(scope or lead.scope) + day


def figure_summaries(store) -> dict[str, dict]:
    """What each stored figure claim counts (claim id -> value, hedge, family, unit, scope, date, label).

    A Claim record has no fields for these yet, so the claims stage keeps them in the
    store's state under ``claims.figures.v1``.
    """
    if store is None:
        return {}
    out: dict[str, dict] = {}
    raw = store.get_state(FIGURES_STATE)
    if raw:
        out.update(json.loads(raw))
    for name, blob in store.states("story:").items():
        if name.endswith(":" + FIGURES_STATE) and blob:
            out.update(json.loads(blob))
    return out


def _summary(members: list[Figure], scope: Scope) -> dict:
    lead = members[0]
    dated = sorted({m.when.label for m in members if m.when})
    return {"value": lead.value, "hedge": lead.hedge, "as_written": _fmt_value(lead), "family": lead.family,
            "unit": lead.unit, "detail": lead.detail, "scope": scope.label or None,
            "dates": dated, "label": figure_label(members, scope)}


def conflict_detail(a: Figure, b: Figure, scope: Optional[Scope] = None) -> str:
    """Reader-facing summary of a conflict: "17 vs at least 23 deaths in Selm District, 2025-10-23"."""
    scope = scope or a.scope
    day = None
    if a.when and b.when:
        explicit = [w for w in (a.when, b.when) if w.explicit]
        day = explicit[0].label if explicit else max(a.when.ref, b.when.ref).isoformat()
        if a.when.ref == b.when.ref and not explicit:
            day = a.when.ref.isoformat()
    label = _label(a)
    where = _scope_text(scope)
    when = f", {day}" if day else ""
    return " ".join(f"{_fmt_value(a)} vs {_fmt_value(b)} {label}".split()) + f"{where}{when}"


# ---------------------------------------------------------------------------
# 7. Statements without figures: near-identical sentences from independent sources
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Statement:
    article_id: str
    span: Span
    content: frozenset  # content words
    names: frozenset  # capitalised words after the first: who and where must be the same
    numbers: frozenset


@functools.lru_cache(maxsize=1)
def _statement_config() -> tuple[dict, frozenset]:
    cfg = load_data("claims.json")["statements"]
    return cfg, frozenset(load_data("stopwords.json")["en"]) | frozenset(cfg["stopwords"])


def article_statements(article: Article, skip: set[Span]) -> list[_Statement]:
    """Sentences of one article that may state a fact (no quotes, sensible length), minus ``skip``."""
    cfg, stop = _statement_config()
    out = []
    for s, e in sentence_spans(article.text):
        sentence = article.text[s:e]
        if (s, e) in skip or re.search("[\"\u201c\u201d\u00ab\u00bb]|''|``", sentence):
            continue  # figures have their own claims; quotes belong to the quotes stage
        toks = words(sentence)
        if not cfg["min_words"] <= len(toks) <= cfg["max_words"]:
            continue
        content = frozenset(w for w in toks if w not in stop and len(w) > 2 and not w.isdigit())
        names = frozenset(m.group().casefold() for m in re.finditer(r"\b[A-Z][\w'\u2019-]+", sentence)
                          if m.start() > 0)
        numbers = frozenset(re.findall(r"\d[\d,.]*\d|\d", sentence))
        out.append(_Statement(article.id, (s, e), content, names, numbers))
    return out


def _same_statement(a: _Statement, b: _Statement, threshold: float) -> bool:
    if a.article_id == b.article_id or a.names != b.names or a.numbers != b.numbers:
        return False  # a different name or number is a different fact, however many words are shared
    union = len(a.content | b.content)
    return bool(union) and len(a.content & b.content) / union >= threshold


def statement_claims(statements: list[_Statement], articles: dict[str, Article], story_of: dict[str, str],
                     group_of: dict[str, str], order: dict[str, int]) -> list[Claim]:
    """Claims for sentences that independent sources state in nearly the same words.

    Only a sentence found in at least two source groups becomes a claim: a shared topic
    is not support, so the words (Jaccard >= ``statements.min_jaccard``), the names
    and the numbers must all agree.
    """
    cfg, _ = _statement_config()
    by_story: dict[str, list[_Statement]] = defaultdict(list)
    for st in statements:
        by_story[story_of.get(st.article_id, st.article_id)].append(st)
    claims = []
    for story, sts in by_story.items():
        sts.sort(key=lambda x: (order.get(x.article_id, 0), x.span[0]))
        postings: dict[str, list[int]] = defaultdict(list)
        clusters: list[list[_Statement]] = []
        home: dict[int, int] = {}  # statement index -> cluster index (for leads only)
        for i, st in enumerate(sts):
            shared: dict[int, int] = defaultdict(int)
            for w in st.content:
                for j in postings[w][-cfg["max_posting"]:]:
                    shared[j] += 1
            need = max(2, int(cfg["min_jaccard"] * len(st.content)) - 1)
            match = next((home[j] for j, n in sorted(shared.items(), key=lambda p: -p[1])
                          if n >= need and j in home and _same_statement(st, sts[j], cfg["min_jaccard"])), None)
            if match is None:
                home[i] = len(clusters)
                clusters.append([st])
                for w in st.content:
                    postings[w].append(i)
            else:
                clusters[match].append(st)
        for members in clusters:
            claim = _statement_claim(story, members, articles, group_of, order)
            if claim is not None:
                claims.append(claim)
    return claims


def _statement_claim(story: str, members: list[_Statement], articles: dict[str, Article],
                     group_of: dict[str, str], order: dict[str, int]) -> Optional[Claim]:
    firsts: dict[str, _Statement] = {}
    for st in members:
        firsts.setdefault(st.article_id, st)
    if len({group_of.get(a, a) for a in firsts}) < 2:
        return None
    texts = {(st.article_id, st.span): normalise(articles[st.article_id].text[st.span[0]:st.span[1]])
             for st in firsts.values()}
    as_figures = [Figure(st.article_id, st.span, st.span, "", 0, 0, 0, "exact", "statement", "")
                  for st in firsts.values()]
    support = _support(as_figures, group_of, texts)
    if support < 2:
        return None
    lead = members[0]
    text = articles[lead.article_id].text[lead.span[0]:lead.span[1]]
    cites = [Citation(st.article_id, st.span) for st in sorted(firsts.values(), key=lambda x: order.get(x.article_id, 0))]
    cites.sort(key=lambda c: c.article_id != lead.article_id)
    return Claim(id=content_id("c", story, "statement", normalise(text)), text=text, citations=cites,
                 independent_support=support)


# ---------------------------------------------------------------------------
# Stage
# ---------------------------------------------------------------------------

def story_map(analysis: Analysis) -> dict[str, str]:
    """Article id -> story id; every article forms one story when no story stage ran."""
    stories = analysis.want("stories")
    out: dict[str, str] = {}
    for s in stories:
        for aid in s.article_ids:
            out.setdefault(aid, s.id)
    for a in analysis.articles:
        out.setdefault(a.id, "all" if not stories else f"alone:{a.id}")
    return out


def group_map(analysis: Analysis) -> dict[str, str]:
    """Article id -> source group key; each article is its own group when no groups exist."""
    out: dict[str, str] = {}
    for g in analysis.want("source_groups"):
        for aid in g.article_ids:
            out.setdefault(aid, f"{g.story_id}:{g.origin_id}")
    for a in analysis.articles:
        out.setdefault(a.id, a.id)
    return out


FIGURES = work.Fact("figures", "1", Figure)


def extract_claims(analysis: Analysis) -> list[Claim]:
    """Claims of every story in ``analysis``."""
    checks = {c.article_id: c for c in analysis.want("date_checks")}
    figures: list[Figure] = []
    statements: list[_Statement] = []
    for article in analysis.articles:
        try:
            dct, implicit = _dct(article, checks)
            mine = work.kept(FIGURES, (*work.article_parts(article), str(dct), str(implicit)),
                             lambda: article_figures(article, dct, implicit))
            if article.is_english and analysis.options.get("statement_claims", True):
                statements += article_statements(article, {f.sentence for f in mine})
            figures += mine
        except Exception as exc:  # a bad article must not stop the batch
            analysis.fail(exc, article.id)
    articles = {a.id: a for a in analysis.articles}
    order = {a.id: i for i, a in enumerate(analysis.articles)}
    figures_of = analysis.cache.setdefault(FIGURES_CACHE, {})
    stories, groups = story_map(analysis), group_map(analysis)
    summaries: dict[str, dict] = {}
    claims = build_claims(figures, articles, stories, groups, order, figures_of, summaries)
    blob = json.dumps(summaries, sort_keys=True).encode("utf-8")
    analysis.state_out[FIGURES_STATE] = blob
    if analysis.spec is None and analysis.store is not None:  # a direct call, outside the engine
        analysis.store.put_state(FIGURES_STATE, blob)
    return claims + statement_claims(statements, articles, stories, groups, order)


@stage("claims", needs=("stories",), wants=("source_groups", "date_checks"), adds={"claims": Claim})
def claims_stage(analysis: Analysis) -> dict[str, list[Claim]]:
    """Stage: figures grouped across sources into claims, with independent support and conflicts."""
    return {"claims": extract_claims(analysis)}
