"""Numbers in sentences: how a figure is written, read as a value with its hedge.

"at least 23" is the interval [23, inf), "about 9,000" is 9,000 +/- 10 %, "dozens" is
[24, 99], a round "14,000" is 14,000 +/- 500; spelled-out numbers ("forty-one"), scales
("2.5 million"), currencies and ranges ("20 to 30") too. :func:`find_numbers` finds them
in a sentence, before anything is known about what they count (:mod:`.figures`).

The vocabulary is ``storydesk/data/claims.json`` with the number words of
``storydesk/data/number_words.json``, compiled once (:func:`vocab`); the figure and claim
rules read the same compiled table.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Optional

from ..text import alternation, load_data

Span = tuple[int, int]
INF = math.inf
MAX_VALUE = 1e15  # no count, toll or sum in news is larger


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------



class _Vocab:
    """claims.json (and number_words.json as its ``number_words``), compiled once."""

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
    return _Vocab({**load_data("claims.json"), "number_words": load_data("number_words.json")})

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
