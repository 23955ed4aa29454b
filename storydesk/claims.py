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
* its **time** (a date named in the sentence, resolved with :func:`storydesk.timex.tag`
  against the article's date, else the article's date).

Mentions of one story with the same family, who, compatible scope, value and time
become one :class:`Claim`; ``independent_support`` counts distinct source groups,
so the copies of one wire story count once. Two claims *conflict* when they count
the same thing in the same place at the same time with values that cannot both be
true (hedges respected). A toll that rises over days is an update, not a conflict.

Everything is regular expressions over ``storydesk/data/claims.json``: no parser,
about a millisecond per article.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

from .errors import PipelineError
from .pipeline import Analysis, stage
from .records import Article, Citation, Claim, Flag, content_id
from .text import load_data, normalise, sentence_spans, words

Span = tuple[int, int]
INF = math.inf
FIGURES_CACHE = "claim_figures"  # analysis.cache key: claim id -> its Figure mentions

try:  # timex is another contributor's module: without it every figure takes its article's date
    from . import timex as _timex
except Exception:  # pragma: no cover - only when timex.py is broken or absent
    _timex = None


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

def _alt(items: Iterable[str]) -> str:
    """Regex alternation of ``items``, longest first, spaces matching any whitespace."""
    return "|".join(re.escape(i).replace(r"\ ", r"\s+") for i in sorted(set(items), key=len, reverse=True))


class _Vocab:
    """claims.json, compiled once."""

    def __init__(self, d: dict):
        nw = d["number_words"]
        self.units, self.tens, self.scales, self.dozen = nw["units"], nw["tens"], nw["scales"], nw["dozen"]
        self.suffixes = d["scale_suffixes"]
        word = rf"(?:{_alt(self.tens)})(?:[\s-]+(?:{_alt(self.units)}))?|{_alt(self.units)}"
        self.word_number = re.compile(
            rf"(?<![\w-])(?:(?:an?|{word})(?:[\s-]+(?:and\s+)?(?:{word}|{_alt(self.scales)}|dozen))*)(?![\w-])", re.I)
        self.vague = {k: tuple(v) for k, v in d["vague"].items()}
        mult = d["vague_multipliers"]
        self.vague_re = re.compile(
            rf"(?<![\w-])(?:(?P<mult>{_alt(mult)})\s+(?P<scale>{_alt(self.scales)}|dozen)|(?P<vague>{_alt(self.vague)}))(?![\w-])",
            re.I)
        self.multipliers = {k: tuple(v) for k, v in mult.items()}
        curs = d["currency_symbols"]
        self.currency_symbols = curs
        self.digits = re.compile(
            rf"(?P<cur>{_alt(curs)})?\s?(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
            rf"(?:(?P<suf>{_alt(self.suffixes)})\b|\s+(?P<scale>{_alt(self.scales)})\b)?")
        self.any_number = re.compile(
            rf"\d|(?<![\w-])(?:{_alt([*self.units, *self.tens, *self.scales, 'dozen', *self.vague])})s?(?![\w])", re.I)
        self.hedges = d["hedges"]
        self.hedge_before = re.compile(rf"(?:^|(?<=[\s(\"'\u201c]))(?P<h>{_alt(self.hedges)})\s+$", re.I)
        self.post_hedges = d["post_hedges"]
        self.hedge_after = re.compile(rf"^[\s-]*(?P<h>{_alt(self.post_hedges)})\b", re.I)
        self.tolerance = float(d["approx_tolerance"])
        self.families = d["families"]
        self.family_nouns = {n: f for f, spec in self.families.items() for n in spec["nouns"]}
        self.cue_re = {f: re.compile(rf"(?<![\w-])(?:{_alt(spec['cues'])})(?![\w-])", re.I)
                       for f, spec in self.families.items() if spec["cues"]}
        self.toll_re = {f: re.compile(rf"(?<![\w-])(?:{_alt(spec['toll_cues'])})(?![\w-])", re.I)
                        for f, spec in self.families.items() if spec.get("toll_cues")}
        p = d["people"]
        self.generic = frozenset(p["generic"])
        self.subgroups = p["subgroups"]
        self.households = frozenset(p["households"])
        self.default_family = p["default_family"]
        self.modifiers = frozenset(p["modifiers"])
        self.building_nouns = frozenset(d["building_nouns"])
        self.currency_words = d["currency_words"]
        self.money_cue_re = re.compile(rf"(?<![\w-])(?:{_alt(d['money_cues'])})(?![\w-])", re.I)
        self.measures = {k: tuple(v) for k, v in d["measures"].items()}
        self.measure_labels = d["measure_labels"]
        sc = d["scope"]
        self.levels = sc["levels"]
        self.not_places = frozenset(sc["not_places"])
        cap = r"[A-Z][\w\u00c0-\u024f'\u2019.-]*"
        name = rf"{cap}(?:\s+(?:of\s+|de\s+|al-)?{cap})*"
        preps = _alt(sc["prepositions"])
        self.scope_named = re.compile(
            rf"(?<![\w-])(?:{preps})\s+(?:the\s+)?(?:{name}['\u2019]s\s+)?(?:[a-z][\w-]*-hit\s+|[a-z][\w-]*-ravaged\s+)?"
            rf"(?P<name>{name})(?:\s+(?P<lvl>{_alt(self.levels)})\b)?")
        self.scope_level = re.compile(
            rf"(?<![\w-])(?:{preps})\s+(?:the|this|that|its|their)\s+(?:(?:entire|whole|same|affected|flooded|[a-z]+-hit)\s+)?"
            rf"(?P<lvl>{_alt(self.levels)})\b", re.I)
        figure_nouns = _alt(sc["figure_nouns"])
        self.scope_adjective = re.compile(
            rf"(?<![\w-])(?P<adj>{_alt(sc['adjectives'])})\s+(?:(?:official|overall|confirmed|death|casualty)\s+)?"
            rf"(?:{figure_nouns})(?![\w-])", re.I)
        self.adjectives = {k.lower(): v for k, v in sc["adjectives"].items()}
        self.scope_possessive = re.compile(
            rf"(?P<name>{name})['\u2019]s\s+(?:(?:official|overall|confirmed)\s+)?(?:{figure_nouns})(?![\w-])")
        self.clause_break = re.compile(
            rf"[;:()\[\]\u2014\u2013]|,(?!\d)|\s-\s|(?<![\w-])(?:{_alt(d['clause_breaks'])})(?![\w-])", re.I)
        self.function_words = frozenset(d["function_words"])
        self.modal_re = re.compile(rf"(?<![\w-])(?:{_alt(d['modal_cues'])})(?![\w-])", re.I)
        self.age_before = re.compile(rf"(?<![\w-])(?:{_alt(d['age_cues'])})\s+$", re.I)
        self.age_after = re.compile(rf"^[\s-]*(?:{_alt(d['age_cues'])})\b", re.I)
        self.partitive = re.compile(rf"^\s+(?:{_alt(d['partitive'])})\b", re.I)
        self.time_units = frozenset(d["time_units"])
        self.time_since = re.compile(rf"(?<![\w-])(?:{_alt(d['time_since'])})(?![\w-])", re.I)
        self.lag = int(d["undated_lag_days"])
        self.update_re = re.compile(rf"(?<![\w-])(?:{_alt(d['update_cues'])})\s+(?:\S+\s+){{0,2}}$", re.I)


@functools.lru_cache(maxsize=1)
def vocab() -> _Vocab:
    """The compiled claims vocabulary."""
    return _Vocab(load_data("claims.json"))


# ---------------------------------------------------------------------------
# Records used inside this module
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Where a figure holds: a place name and/or an administrative level, and who holds it (troops)."""

    name: Optional[str] = None  # folded place name without its level word ("selm")
    level: Optional[str] = None  # district | province | country ...
    label: str = ""  # as written ("Selm District")
    actor: frozenset = frozenset()  # for families counted per owner ("France has 1,500 soldiers")

    @property
    def empty(self) -> bool:
        return self.name is None and self.level is None


@dataclass(frozen=True)
class When:
    """The days a figure may describe and the day it is reported for (``ref``)."""

    lo: dt.date
    hi: dt.date
    ref: dt.date
    explicit: bool  # a date is written in the sentence (else the article's date)

    def overlaps(self, other: "When") -> bool:
        return self.lo <= other.hi and other.lo <= self.hi


@dataclass(frozen=True)
class Figure:
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
    if value < 100 or value != int(value):
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
    if re.search(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+\s+$", before) and not v.hedge_before.search(before):
        prev = re.search(r"([A-Z][a-z]+)\s+$", before).group(1)
        if prev.lower() not in v.not_places or prev.lower() in ("the", "a", "an"):
            if before.strip() != prev:  # not the sentence's first word
                return True  # Route 66, Article 5, Apollo 11
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
        scale = m.group("suf") or m.group("scale")
        if scale:
            factor = v.suffixes.get(scale.lower()) if m.group("suf") else v.scales[scale.lower()]
            if m.group("suf") and not m.group("cur") and scale.lower() in ("m", "b", "k"):
                end = m.end("num")  # "40m" alone may be metres: keep the bare number
                factor = None
            value *= factor or 1
        if _is_garbage(sentence, m.start("num"), m.end("num"), num, v):
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
    before_s, before_e = _words_span(sentence, clause[0], n.start, 6, from_end=True)
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


def _actor(sentence: str, clause: Span, n: _Num, v: _Vocab) -> frozenset:
    """Capitalised names before the number in its clause ("France has 1,500 soldiers")."""
    names = set()
    for m in re.finditer(r"[A-Z][\w.\u2019'-]*(?:\s+[A-Z][\w.\u2019'-]*)*", sentence[clause[0]:n.start]):
        words_ = [w for w in m.group().split() if w.lower().strip(".") not in _ACTOR_STOP]
        if words_ and " ".join(words_).lower() not in v.not_places:
            names.add(" ".join(words_).rstrip("'\u2019s").casefold())
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
        if t.type in ("DATE", "TIME") and t.anchored and t.precision in ("time", "day", "week", "month"):
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
    for (s, e), when in times:
        if when is None:
            continue
        in_clause = clause[0] <= s < clause[1]
        if when.hi - when.lo > dt.timedelta(days=7) and not in_clause:
            continue  # a month elsewhere in the sentence says little about this figure
        if not in_clause and any(a <= s < b for a, b in others):
            continue
        lead_start = max(s - 60, n.end if n.end <= s else 0, 0)
        if v.time_since.search(" ".join(sentence[lead_start:s].split()[-6:])):
            continue  # "stranded since the dam gave way on Tuesday": when it began, not when it was counted
        before = s < n.start
        usable.append(((0 if in_clause else 1 if before else 2), abs(s - n.start), when))
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
        if head.kind == "bare" and kept:
            if family is None:
                family, unit = kept[-1][1], kept[-1][2]  # "17 ... died in Selm District and 31 across the province"
            elif unit == "people" and kept[-1][2] in v.subgroups.values():
                unit = kept[-1][2]  # "17 soldiers were killed and nearly two dozen wounded"
        if family is None:
            continue
        kept.append((n, family, unit, head))
    return clauses, kept


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
    v = vocab()
    nums = [n for n in find_numbers(sentence, v) if not v.partitive.match(sentence[n.end:])]
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
        if v.families.get(family, {}).get("actor"):
            scope = replace(scope, actor=_actor(sentence, (segment[0], clause[1]), n, v))
        detail = ""
        if family == "money":
            m = v.money_cue_re.search(sentence, clause[0], clause[1])
            detail = m.group().lower() if m else ""
        others = [_clause_of(clauses, m) for m, *_ in kept if m is not n]
        when = _time(sentence, n, clause, times, dct, implicit, others, v)
        value, lo, hi = n.value, n.lo, n.hi
        if family in v.measure_labels:
            factor = next((f for k, (fam, f) in v.measures.items() if k == _unit_word(sentence, n, v)), 1.0)
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
    if article.language != "en":
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
    return re.compile(rf"((?:[A-Z][\w\u00c0-\u024f'\u2019-]*\s+)+)(?i:{_alt(words_)})(?![\w-])")


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
        return any(x.hedge in approx or y.hedge in approx for x in (f,) for y in self.members[:1]) and \
            all(f.compatible(m) for m in self.members)

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
    if a.article_id == b.article_id or a.compatible(b):
        return False
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

def _support(members: list[Figure], group_of: dict[str, str], texts: dict[Span, str]) -> int:
    """Distinct origins among the articles; identical long sentences count as one origin too."""
    parent = {f.article_id: group_of.get(f.article_id, f.article_id) for f in members}
    by_text: dict[str, str] = {}
    roots = {}
    for f in members:
        root = parent[f.article_id]
        norm = texts.get((f.article_id, f.sentence))
        if norm and len(norm.split()) >= 6:
            root = by_text.setdefault(norm, root)
        roots[f.article_id] = root
    # Union the origin of a copied sentence with the origin of the article that copied it.
    union: dict[str, str] = {}

    def find(x: str) -> str:
        while union.get(x, x) != x:
            x = union[x]
        return x

    for f in members:
        a, b = find(parent[f.article_id]), find(roots[f.article_id])
        if a != b:
            union[a] = b
    return len({find(parent[f.article_id]) for f in members})


def _clarity(f: Figure, article: Article, figure_count: int) -> tuple:
    sentence = article.text[f.sentence[0]:f.sentence[1]]
    quoted = bool(re.search("[\"\u201c\u201d]", sentence))
    n_words = len(sentence.split())
    return (f.scope.empty, figure_count > 1, quoted, abs(n_words - 22), f.span[0])


def _fmt_value(f: Figure) -> str:
    if f.family in vocab().measure_labels or f.family == "money":
        return f.text
    if f.hedge == "vague" or f.text.strip()[:1].isalpha():
        return f.text.strip()
    return f.text


def _label(f: Figure) -> str:
    v = vocab()
    if f.family == "money":
        return f"({f.detail})" if f.detail else ""
    if f.family in v.measure_labels:
        return ""
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
                 figures_of: Optional[dict[str, list[Figure]]] = None) -> list[Claim]:
    """Group figure mentions into claims, count support and mark conflicts.

    Args:
        figures: figure mentions of any number of articles.
        articles: article id -> Article (for sentence texts).
        story_of: article id -> story id; figures of different stories never meet.
        group_of: article id -> source group key (copies of one origin share it).
        order: article id -> arrival position (earlier articles come first).
        figures_of: if given, filled with claim id -> its figure mentions (value, hedge,
            family, scope, date), which a Claim record has no fields for.
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
    return Claim(id=cid, text=text, citations=citations, independent_support=support, flags=flags)


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


def conflict_detail(a: Figure, b: Figure, scope: Optional[Scope] = None) -> str:
    """Reader-facing summary of a conflict: "17 vs at least 23 deaths in Selm District, 2025-10-23"."""
    scope = scope or a.scope
    day = max(a.when.lo, b.when.lo) if a.when and b.when else None
    if a.when and b.when and a.when.ref == b.when.ref:
        day = a.when.ref if not (a.when.explicit or b.when.explicit) else \
            (a.when if a.when.explicit and a.when.lo == a.when.hi else b.when).lo
    label = _label(a)
    where = _scope_text(scope)
    when = f", {day.isoformat()}" if day else ""
    return " ".join(f"{_fmt_value(a)} vs {_fmt_value(b)} {label}".split()) + f"{where}{when}"


# ---------------------------------------------------------------------------
# Stage
# ---------------------------------------------------------------------------

def _optional(analysis: Analysis, kind: str) -> list:
    """Records of ``kind``, or [] when no stage adds that kind (its module is absent or broken)."""
    try:
        return list(analysis.get(kind))
    except PipelineError:
        return []


def story_map(analysis: Analysis) -> dict[str, str]:
    """Article id -> story id; every article forms one story when no story stage ran."""
    stories = _optional(analysis, "stories")
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
    for g in _optional(analysis, "source_groups"):
        for aid in g.article_ids:
            out.setdefault(aid, f"{g.story_id}:{g.origin_id}")
    for a in analysis.articles:
        out.setdefault(a.id, a.id)
    return out


def extract_claims(analysis: Analysis) -> list[Claim]:
    """Claims of every story in ``analysis``."""
    checks = {c.article_id: c for c in (analysis.results.get("date_checks") or _optional_checks(analysis))}
    figures: list[Figure] = []
    for article in analysis.articles:
        try:
            dct, implicit = _dct(article, checks)
            figures += article_figures(article, dct, implicit)
        except Exception as exc:  # a bad article must not stop the batch
            analysis.cache.setdefault("claim_errors", {})[article.id] = repr(exc)
    articles = {a.id: a for a in analysis.articles}
    order = {a.id: i for i, a in enumerate(analysis.articles)}
    figures_of = analysis.cache.setdefault(FIGURES_CACHE, {})
    return build_claims(figures, articles, story_map(analysis), group_map(analysis), order, figures_of)


def _optional_checks(analysis: Analysis) -> list:
    try:
        from .pipeline import known_kinds
        return list(analysis.get("date_checks")) if "date_checks" in known_kinds() else []
    except Exception:
        return []


@stage("claims", needs=("stories", "source_groups"), adds={"claims": Claim})
def claims_stage(analysis: Analysis) -> dict[str, list[Claim]]:
    """Stage: figures grouped across sources into claims, with independent support and conflicts."""
    return {"claims": extract_claims(analysis)}
