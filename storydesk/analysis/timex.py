"""Temporal expressions: find them in text and normalise them TIMEX3-style.

``tag(text, dct)`` returns :class:`Timex` records (span, text, type, value).
The vocabulary and the regex rules live in ``storydesk/data/timex.json``;
this module compiles them once and holds the normalisers that turn a match
into a TIMEX3 value (``2023-08-06``, ``2023-W31``, ``2023-08``, ``P3W``,
``PRESENT_REF``...) against the document creation time (DCT). Without a DCT,
relative expressions stay unanchored (``XXXX-WXX-7`` for "Sunday").
"""
from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Callable, Optional, Union

from ..records import Record
from ..text import alternation, load_data

Span = tuple[int, int]
DateLike = Union[dt.date, dt.datetime, str, None]

_ISO_DAY = re.compile(r"^(\d{4})-(\d\d)-(\d\d)")
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d\d?)(?:-(WE|\d))?$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d\d)$")
_ISO_QUARTER = re.compile(r"^(\d{4})-([QH])(\d)$")
_ISO_SEASON = re.compile(r"^(\d{4})-(SP|SU|FA|WI)$")
_ISO_YEAR = re.compile(r"^(\d{4})$")
_SEASON_MONTHS = {"SP": (3, 5), "SU": (6, 8), "FA": (9, 11), "WI": (12, 2)}


@dataclass(frozen=True)
class Timex(Record):
    """One temporal expression: where it is, what kind, and its TIMEX3 value."""

    span: Span
    text: str
    type: str  # DATE | TIME | DURATION | SET
    value: str
    mod: Optional[str] = None  # START | END | MID | APPROX | MORE_THAN ...
    rule: str = ""  # the rule in timex.json that matched (for debugging and evaluation)

    @property
    def precision(self) -> str:
        """How precise the value is.

        One of time | day | week | month | quarter | half | season | year | decade |
        century | ref | duration | set | unknown.
        """
        return value_precision(self.value, self.type)

    @property
    def anchored(self) -> bool:
        """True when the value names a real calendar point (no X placeholders, not a reference word)."""
        return (self.type in ("DATE", "TIME") and "X" not in self.value.split("T")[0]
                and not self.value.endswith("_REF"))


def value_precision(value: str, type_: str = "DATE") -> str:
    """Precision of a TIMEX3 value (see :attr:`Timex.precision`)."""
    if type_ == "DURATION":
        return "duration"
    if type_ == "SET":
        return "set"
    if value.endswith("_REF"):
        return "ref"
    if "X" in value.split("T")[0]:
        return "unknown"
    if "T" in value:
        return "time"
    if _ISO_DAY.match(value):
        return "day"
    if _ISO_WEEK.match(value):
        return "week"
    if _ISO_MONTH.match(value):
        return "month"
    m = _ISO_QUARTER.match(value)
    if m:
        return "quarter" if m.group(2) == "Q" else "half"
    if _ISO_SEASON.match(value):
        return "season"
    if _ISO_YEAR.match(value):
        return "year"
    if re.fullmatch(r"\d{3}", value):
        return "decade"
    if re.fullmatch(r"\d{2}", value):
        return "century"
    return "unknown"


def value_range(value: str) -> Optional[tuple[dt.date, dt.date]]:
    """First and last calendar day a DATE/TIME value covers, or None if it is not anchored."""
    value = value.split("T")[0]
    try:
        m = _ISO_DAY.match(value)
        if m:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return d, d
        m = _ISO_WEEK.match(value)
        if m:
            start = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            if m[3] == "WE":
                return start + dt.timedelta(days=5), start + dt.timedelta(days=6)
            if m[3]:
                d = start + dt.timedelta(days=int(m[3]) - 1)
                return d, d
            return start, start + dt.timedelta(days=6)
        m = _ISO_MONTH.match(value)
        if m:
            y, mo = int(m[1]), int(m[2])
            return dt.date(y, mo, 1), dt.date(y, mo, calendar.monthrange(y, mo)[1])
        m = _ISO_QUARTER.match(value)
        if m:
            y, n = int(m[1]), int(m[3])
            size = 3 if m[2] == "Q" else 6
            first = (n - 1) * size + 1
            last = first + size - 1
            return dt.date(y, first, 1), dt.date(y, last, calendar.monthrange(y, last)[1])
        m = _ISO_SEASON.match(value)
        if m:
            y = int(m[1])
            a, b = _SEASON_MONTHS[m[2]]
            y2 = y + 1 if b < a else y
            return dt.date(y, a, 1), dt.date(y2, b, calendar.monthrange(y2, b)[1])
        m = _ISO_YEAR.match(value)
        if m:
            return dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31)
    except ValueError:
        return None
    return None


def as_date(value: DateLike) -> Optional[dt.date]:
    """Turn a date, datetime or ISO string (``2023-08-06``, ``2023-08-06T10:00``) into a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _ISO_DAY.match(str(value).strip())
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Compiled rules
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    id: str
    type: str
    norm: str
    regex: re.Pattern
    before: Optional[re.Pattern]
    order: int


def _alternation(words, case_sensitive: bool = False, raw: bool = False) -> str:
    """:func:`alternation` as a group; ``raw``: the items are regex fragments, joined longest first."""
    body = "|".join(sorted(set(words), key=lambda w: (-len(w), w))) if raw else alternation(words)
    return f"(?-i:{body})" if case_sensitive else f"(?:{body})"


class _Vocab:
    """The JSON vocabulary, its regex macros and the compiled rules."""

    def __init__(self, data: dict):
        self.data = data
        self.months = data["months"]
        self.weekdays = data["weekdays"]
        self.weekdays_plural = data["weekdays_plural"]
        nw = load_data("number_words.json")
        self.word_numbers = {**nw["units"], **nw["tens"]}  # the words of a year written out
        # Durations and ages: no millions; the phrases ("a couple of") are timex.json's own.
        counts = {**self.word_numbers, "dozen": nw["dozen"], **{w: v for w, v in nw["scales"].items() if v <= 1000},
                  **data["number_phrases"]}
        self.numbers = {k.lower(): v for k, v in counts.items()}
        self.units = data["units"]
        self.pods = data["parts_of_day"]
        self.seasons = data["seasons"]
        self.relative = data["relative"]
        self.relative_units = data["relative_units"]
        self.dmods = data["date_modifiers"]
        self.qmods = data["quantity_modifiers"]
        self.refs = {k: v for k, v in data["references"].items() if v and not k.startswith("_")}
        self.anchors = data["anchors"]
        self.narrative = data["narrative"]
        self.holidays = data["holidays"]
        self.sets = data["sets"]
        self.ambiguous_months = set(data["months_ambiguous"])
        self.month_context = frozenset(data["month_context_words"])
        self.rate_before = re.compile(data["rate_before"] + r"\s*$", re.I)
        tense = data["tense"]
        self.future_cues = set(tense["future"])
        self.past_cues = set(tense["past"])
        self.not_past = set(tense["not_past"])
        self.cue_re = re.compile(
            r"(?<![\w'])(" + alternation([*tense["future"], *tense["past"]]) + r"|"
            + tense["past_suffix"] + r")(?![\w'])", re.I)
        yf = data["year_filters"]
        self.year_not_before = re.compile(yf["not_before"])
        self.year_temporal_before = re.compile(yf["temporal_before"], re.I)
        self.year_not_after = re.compile(yf["not_after"])
        self.macros = self._macros(data)
        self.rules = [self._compile(i, r) for i, r in enumerate(data["rules"])]

    def _macros(self, data: dict) -> dict[str, str]:
        units_plural = [u for u in self.units if u.endswith("s") or u in ("centuries", "millennia")]
        tens = [w for w, v in self.word_numbers.items() if v >= 20]
        ones = [w for w, v in self.word_numbers.items() if v < 10]
        numword = _alternation(self.numbers)
        macros = {
            "MONTH": _alternation(self.months, case_sensitive=True),
            "WEEKDAY": _alternation(self.weekdays, case_sensitive=True),
            "WEEKDAYS": _alternation(self.weekdays_plural, case_sensitive=True),
            "HOLIDAY": _alternation(self.holidays, case_sensitive=True),
            "NUM": (r"(?:\d+(?:\.\d+)?(?:\s+\d/\d)?|(?:" + alternation(tens) + r")[-\s](?:" + alternation(ones)
                    + r")|" + numword + r")"),
            "VAGUE": _alternation(data["vague_numbers"]),
            "ONES": _alternation(ones),
            "TEENS": _alternation(w for w, v in self.word_numbers.items() if 10 <= v < 20),
            "TENS": _alternation(tens),
            "UNIT": _alternation(self.units),
            "UNITS": _alternation(units_plural),
            "POD": _alternation(self.pods),
            "SEASON": _alternation(self.seasons),
            "REL": _alternation(self.relative),
            "RUNIT": _alternation(self.relative_units),
            "DMOD": _alternation(self.dmods),
            "QMOD": _alternation(self.qmods),
            "REF": _alternation(self.refs),
            "ANCHOR": _alternation(self.anchors),
            "NARR": _alternation(self.narrative),
            "FREQ": _alternation(data["frequencies"], raw=True),
            "VAGUE_BEFORE": data["vague_unit_before"],
        }
        macros.update({k: v for k, v in data["macros"].items() if not k.startswith("_")})  # "_X": comments
        return macros

    def expand(self, pattern: str) -> str:
        def sub(m: re.Match) -> str:
            name, group = m.group(1), m.group(2)
            body = self.macros[name]
            return f"(?P<{group}>{body})" if group else f"(?:{body})"
        # Macros may use macros (YEAR4 uses YEARWORDS): expand until none is left.
        for _ in range(5):
            expanded = re.sub(r"\{([A-Z][A-Z0-9_]*)(?::(\w+))?\}", sub, pattern)
            if expanded == pattern:
                break
            pattern = expanded
        return pattern

    def _compile(self, order: int, rule: dict) -> _Rule:
        body = self.expand(rule["pattern"])
        regex = re.compile(r"(?<![\w$\u20ac\u00a3/-])(?<!\d[.,])(?:" + body + r")(?![\w])", re.I)
        before = rule.get("before")
        before_re = re.compile(r"\b" + self.expand(before) + r"\s+$", re.I) if before else None
        return _Rule(rule["id"], rule["type"], rule["norm"], regex, before_re, order)


@functools.lru_cache(maxsize=1)
def vocab() -> _Vocab:
    """The compiled vocabulary (loaded once per process)."""
    return _Vocab(load_data("timex.json"))


# ---------------------------------------------------------------------------
# Tense around an expression
# ---------------------------------------------------------------------------

_SENT_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z])|\n\s*\n")


class _Tense:
    """Nearest tense cue (past or future) in the sentence around a position."""

    def __init__(self, text: str, v: _Vocab):
        self.bounds = [0] + [m.end() for m in _SENT_END.finditer(text)] + [len(text) + 1]
        self.cues: list[tuple[int, int, str]] = []
        for m in v.cue_re.finditer(text):
            word = " ".join(m.group(1).lower().split())
            listed = word in v.future_cues or word in v.past_cues
            if not listed and word in v.not_past:
                continue  # "-ed" words that are adjectives or not verbs
            kind = "future" if word in v.future_cues else "past"
            self.cues.append((m.start(), m.end(), kind))
        self.starts = [c[0] for c in self.cues]
        self.ends = [c[1] for c in self.cues]  # sorted too: finditer matches do not overlap

    def sentence(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.bounds, pos) - 1
        return self.bounds[i], self.bounds[min(i + 1, len(self.bounds) - 1)]

    def at(self, start: int, end: int) -> Optional[str]:
        """'past', 'future' or None for the expression at ``start:end``."""
        s, e = self.sentence(start)
        lo = bisect.bisect_left(self.starts, s)
        hi = bisect.bisect_left(self.starts, e)
        best, best_d = None, None
        for cs, ce, kind in self._near(lo, hi, start, end):
            if start <= cs < end:
                continue  # a cue inside the expression ("last", "next") is not the verb's tense
            d = start - ce if ce <= start else cs - end
            # Cues before the expression bind a little more tightly ("said Friday", "will meet Friday").
            d = d if ce <= start else d + 3
            if best_d is None or d < best_d:
                best, best_d = kind, d
        return best

    def _near(self, lo: int, hi: int, start: int, end: int):
        """The only cues of ``cues[lo:hi]`` that can be nearest (in order): the last one ending
        before ``start``, those from there to the first starting at or after ``end``, and that one.
        Scanning the whole sentence instead made a long sentence of dates quadratic."""
        i = max(lo, bisect.bisect_right(self.ends, start, lo, hi) - 1)
        for k in range(i, hi):  # by index: a slice cues[i:hi] copied the rest of a long sentence each time
            yield self.cues[k]
            if self.cues[k][0] >= end:
                return


# ---------------------------------------------------------------------------
# Normalisation helpers
# ---------------------------------------------------------------------------

def _iso(d: dt.date) -> str:
    return d.isoformat()


def _week(d: dt.date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    y = d.year + m // 12
    m = m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _quarter(d: dt.date) -> int:
    return (d.month - 1) // 3 + 1


def _valid_day(y: Optional[int], m: int, d: int) -> bool:
    if not 1 <= m <= 12 or d < 1:
        return False
    return d <= (calendar.monthrange(y, m)[1] if y else (29 if m == 2 else calendar.monthrange(2001, m)[1]))


_TENSE_SLACK_DAYS = 90
_MONTH_SLACK_DAYS = 100


def _pick(cands: list[dt.date], ref: dt.date, tense: Optional[str], slack: int = _TENSE_SLACK_DAYS) -> dt.date:
    """Choose among candidate dates around ``ref``: the nearest, unless the tense disagrees.

    The nearest candidate wins when it is within ``slack`` days on the "wrong"
    side of ``ref``: tense cues are noisy, and on TimeBank trusting them more
    (slack 7) costs 2 points of value accuracy. Past tense otherwise takes the
    latest candidate not after ``ref``, future the earliest not before.
    """
    nearest = min(cands, key=lambda c: (abs((c - ref).days), c > ref))
    if tense == "past":
        past = [c for c in cands if c <= ref]
        if past and not (nearest > ref and (nearest - ref).days <= slack):
            return max(past)
    elif tense == "future":
        fut = [c for c in cands if c >= ref]
        if fut and not (nearest < ref and (ref - nearest).days <= slack):
            return min(fut)
    return nearest


class _Ctx:
    """What normalisers know: the DCT, tense cues and the last dates mentioned."""

    def __init__(self, text: str, dct: Optional[dt.date], v: _Vocab):
        self.text = text
        self.dct = dct
        self.v = v
        self.tense = _Tense(text, v)
        self.last_day: Optional[dt.date] = None  # last day-precision date mentioned (narrative anchor)
        self.last_day_at: Optional[int] = None  # where it ended
        self.last_quarter: Optional[tuple[int, int]] = None
        self.last_year: Optional[int] = None  # last explicit year mentioned ("later that year")
        self.conflicts: list[tuple[Span, str]] = []
        self.span: Span = (0, 0)

    def tense_here(self) -> Optional[str]:
        return self.tense.at(*self.span)



def _month_num(v: _Vocab, word: str) -> int:
    word = " ".join(word.split())
    return v.months.get(word) or v.months.get(word.title()) or v.months[word.rstrip(".")]


def _weekday_num(v: _Vocab, word: str) -> int:
    return v.weekdays.get(word) or v.weekdays[word.title()]


def _digits(s: str) -> int:
    return int(re.match(r"\d+", s).group())


def _year_int(s: str) -> int:
    """'1994', 'nineteen ninety-four', 'two thousand and one' -> int."""
    s = s.strip()
    if s[:1].isdigit():
        return int(s[:4])
    words = [w for w in re.split(r"[\s-]+", s.lower()) if w not in ("and", "hundred")]
    if words[:2] == ["two", "thousand"]:
        return 2000 + sum(vocab().word_numbers.get(w, 0) for w in words[2:])
    return 1900 + sum(vocab().word_numbers.get(w, 0) for w in words[1:])


def _number(v: _Vocab, text: str) -> Optional[float]:
    """Parse '3', '2.5', '5 1/2', 'three', 'twenty-four', 'a couple of'; None if vague."""
    t = " ".join(text.lower().replace("-", " ").split())
    t = re.split(r"\s+(?:to|or)\s+", t)[0]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:\s+(\d)/(\d))?", t.replace(",", ""))
    if m:
        n = float(m.group(1))
        if m.group(2):
            n += int(m.group(2)) / int(m.group(3))
        return n
    if t in v.numbers:
        return float(v.numbers[t])
    parts = t.split()
    if len(parts) == 2 and parts[0] in v.numbers and parts[1] in v.numbers:
        return float(v.numbers[parts[0]] + v.numbers[parts[1]])
    return None


_SMALLER = {"Y": ("M", 12), "M": ("D", 30), "W": ("D", 7), "D": ("H", 24), "Q": ("M", 3)}
_SMALLER_TIME = {"H": ("M", 60), "M": ("S", 60)}
_TIME_UNITS = {"H", "M", "S"}


def _duration(n: Optional[float], code: str, time: bool) -> str:
    """TIMEX3 duration: P3W, PT5H30M, P2Y6M, PXY."""
    if n is None:
        return f"PTX{code}" if time else f"PX{code}"
    whole, frac = int(n), n - int(n)
    parts = [(whole, code, time)] if whole else []
    table = _SMALLER_TIME if time else _SMALLER
    if frac > 1e-9 and code in table:
        small, factor = table[code]
        parts.append((round(frac * factor), small, time or code == "D"))
    if not parts:
        parts = [(0, code, time)]
    date_part = "".join(f"{q}{c}" for q, c, t in parts if not t)
    time_part = "".join(f"{q}{c}" for q, c, t in parts if t)
    return "P" + date_part + (("T" + time_part) if time_part else "")


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _holiday_date(rule: str, year: int) -> dt.date:
    if rule.startswith("easter"):
        return _easter(year) + dt.timedelta(days=int(rule[6:] or 0))
    if rule.startswith("nth:"):
        _, month, weekday, n = rule.split(":")
        month, weekday, n = int(month), int(weekday), int(n)
        days = [dt.date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)
                if dt.date(year, month, d).isoweekday() == weekday]
        return days[n - 1] if n > 0 else days[n]
    mo, d = rule.split("-")
    return dt.date(year, int(mo), int(d))


# ---------------------------------------------------------------------------
# Normalisers: (groups, ctx) -> (type, value, mod) or None to drop the match
# ---------------------------------------------------------------------------

Norm = Optional[tuple[str, str, Optional[str]]]


def _dmod(ctx: _Ctx, groups: dict, name: str = "mod") -> Optional[str]:
    word = groups.get(name)
    if not word:
        return None
    return ctx.v.dmods.get(" ".join(word.lower().split()).rstrip("-")) or ctx.v.dmods.get(word.lower())


def _qmod(ctx: _Ctx, groups: dict) -> Optional[str]:
    word = groups.get("qmod")
    return ctx.v.qmods.get(" ".join(word.lower().split())) if word else None


def _remember_day(ctx: _Ctx, d: dt.date) -> None:
    ctx.last_day = d
    ctx.last_day_at = ctx.span[1]


_ANCHORED_AFTER = re.compile(r"\s+(after|before|later|earlier)\b", re.I)


def _anchored_duration(g: dict, ctx: _Ctx, n: Optional[float], code: str, time: bool) -> Norm:
    """"Four days later" (after the last date mentioned) and "on Friday, three days after
    the breach" (the appositive names the date) are dates, not durations."""
    m = _ANCHORED_AFTER.match(ctx.text, ctx.span[1])
    if not m or n is None or time or ctx.last_day is None or code not in ("D", "W"):
        return None
    word = m.group(1).lower()
    if word in ("later", "earlier"):
        days = round(n * (7 if code == "W" else 1))
        d = ctx.last_day + dt.timedelta(days=days if word == "later" else -days)
        return "DATE", _iso(d), None
    s, _ = ctx.tense.sentence(ctx.span[0])
    if ctx.last_day_at is not None and ctx.last_day_at >= s:
        return "DATE", _iso(ctx.last_day), None
    return None


def _n_numeric_date(g: dict, ctx: _Ctx) -> Norm:
    y = int(g["y"])
    if y < 100:
        y += 2000 if y < 50 else 1900
    m, d = int(g["m"]), int(g["d"])
    if not _valid_day(y, m, d):
        return None
    day = dt.date(y, m, d)
    _remember_day(ctx, day)
    if g.get("hh"):
        return "TIME", f"{_iso(day)}T{g['hh']}:{g['mm']}", None
    return "DATE", _iso(day), None


def _infer_day(ctx: _Ctx, m: int, d: int, wd: Optional[int]) -> Optional[dt.date]:
    dct = ctx.dct
    cands = []
    for y in (dct.year - 1, dct.year, dct.year + 1):
        if _valid_day(y, m, d):
            cands.append(dt.date(y, m, d))
    if not cands:
        return None
    if wd:  # a weekday next to the date settles the year when it fits only one
        fitting = [c for c in cands if c.isoweekday() == wd]
        if fitting:
            cands = fitting
    return _pick(cands, dct, ctx.tense_here())


def _n_date(g: dict, ctx: _Ctx) -> Norm:
    v = ctx.v
    m = _month_num(v, g["m"])
    d = _digits(g["d"])
    y = _year_int(g["y"]) if g.get("y") else None
    wd = _weekday_num(v, g["wd"]) if g.get("wd") else None
    mod = _dmod(ctx, g)
    if y:
        day = dt.date(y, m, d)
    elif ctx.dct:
        day = _infer_day(ctx, m, d, wd)
    else:
        return "DATE", f"XXXX-{m:02d}-{d:02d}", mod
    if wd and day.isoweekday() != wd:
        ctx.conflicts.append((ctx.span, f"{calendar.day_name[wd - 1]} does not fall on {_iso(day)}"))
    _remember_day(ctx, day)
    return "DATE", _iso(day), mod


def _n_month(g: dict, ctx: _Ctx) -> Norm:
    v = ctx.v
    m = _month_num(v, g["m"])
    mod = _dmod(ctx, g)
    if g.get("y"):
        return "DATE", f"{_year_int(g['y'])}-{m:02d}", mod
    dct = ctx.dct
    rel = g.get("rel") or g.get("yp")
    if not dct:
        return "DATE", f"XXXX-{m:02d}", mod
    if g.get("yp"):
        y = dct.year + v.relative.get(g["yp"].lower(), 0)
        return "DATE", f"{y}-{m:02d}", mod
    cands = [dt.date(y, m, 15) for y in (dct.year - 1, dct.year, dct.year + 1)]
    ref = dct.replace(day=15)
    if rel:
        r = v.relative.get(" ".join(rel.lower().split()), 0)
        if r < 0:
            pick = max(c for c in cands if c < ref)
        elif r > 0:
            pick = min(c for c in cands if c > ref)
        else:
            pick = dt.date(dct.year, m, 15)  # "this September": the one in the document's year
    else:
        # Months are a coarser unit: the nearest wins within a quarter of a year either way.
        pick = _pick(cands, ref, ctx.tense_here(), slack=_MONTH_SLACK_DAYS)
    return "DATE", f"{pick.year}-{m:02d}", mod


def _year_of(ctx: _Ctx, g: dict) -> Optional[int]:
    if g.get("y"):
        return _year_int(g["y"])
    rel = g.get("rel") or g.get("yp")
    if ctx.dct is None:
        return None
    if rel:
        return ctx.dct.year + ctx.v.relative.get(" ".join(rel.lower().split()).replace("the ", ""), 0)
    return ctx.dct.year


def _n_half(g: dict, ctx: _Ctx) -> Norm:
    h = 1 if g["h"].lower() in ("first", "front") else 2
    if g.get("dec"):
        return _n_decade({"dec": re.sub(r"(?i)^the\s+", "", g["dec"])}, ctx)
    y = _year_of(ctx, g)
    return "DATE", f"{y if y else 'XXXX'}-H{h}", None


def _latest_quarter(ctx: _Ctx) -> Optional[tuple[int, int]]:
    """The quarter a business story means by 'the quarter': the last one named, else the last complete one."""
    if ctx.last_quarter:
        return ctx.last_quarter
    if not ctx.dct:
        return None
    prev = _add_months(ctx.dct.replace(day=1), -3)
    return prev.year, _quarter(prev)


_QORD = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "final": 4}


def _n_quarter(g: dict, ctx: _Ctx) -> Norm:
    qrel = " ".join(g["qrel"].lower().split()) if g.get("qrel") else None
    back = qrel in ("year-earlier", "year-ago") or bool(g.get("qago"))
    if g.get("q"):
        q = _QORD[g["q"].lower()]
        y = _year_int(g["yr"]) if g.get("yr") else _year_of(ctx, g)
        if g.get("yp"):
            y = ctx.dct.year + ctx.v.relative.get(g["yp"].lower().replace("the ", ""), 0) if ctx.dct else None
        if y is None:
            return "DATE", f"XXXX-Q{q}", None
        if back:
            y -= 1
        else:
            ctx.last_quarter = (y, q)
        return "DATE", f"{y}-Q{q}", None
    if qrel == "current" and ctx.dct:
        return "DATE", f"{ctx.dct.year}-Q{_quarter(ctx.dct)}", None
    if qrel in ("fiscal",) and g.get("qw", "").lower() == "period":
        return None
    period_ok = ("year-earlier", "year-ago", "latest", "same", "comparable")
    if (g.get("qw") or "quarter").lower() == "period" and qrel not in period_ok and not g.get("yr"):
        return None
    if g.get("yr"):  # "the 1988 quarter": the quarter under discussion, in that year
        latest = _latest_quarter(ctx)
        return "DATE", f"{_year_int(g['yr'])}-Q{latest[1]}" if latest else f"{_year_int(g['yr'])}-QX", None
    if qrel in ("previous", "latest", "last", "past", "recent", "most recent") and ctx.dct:
        prev = _add_months(ctx.dct.replace(day=1), -3)
        return "DATE", f"{prev.year}-Q{_quarter(prev)}", None
    latest = _latest_quarter(ctx)
    if latest is None:
        return "DATE", "XXXX-QX", None
    y, q = latest
    return "DATE", f"{y - 1 if back else y}-Q{q}", None


def _n_year_earlier(g: dict, ctx: _Ctx) -> Norm:
    qw = (g.get("qw") or "").lower()
    if "nine" in qw:
        return "DURATION", "P9M", None
    if "six" in qw:
        return "DURATION", "P6M", None
    if not ctx.dct:
        return "DATE", "XXXX", _qmod(ctx, g)
    # Earnings stories compare quarters: once a quarter was named, "a year earlier" means that quarter last year.
    if ctx.last_quarter:
        y, q = ctx.last_quarter
        return "DATE", f"{y - 1}-Q{q}", None
    return "DATE", str(ctx.dct.year - 1), _qmod(ctx, g)


def _unit_info(ctx: _Ctx, unit: str) -> tuple[str, int, bool]:
    u = ctx.v.units[" ".join(unit.lower().split())]
    return u["code"], u.get("factor", 1), u.get("time", False)


def _n_ago(g: dict, ctx: _Ctx) -> Norm:
    code, factor, time = _unit_info(ctx, g["unit"])
    forward = g["dir"].lower().split()[0] in ("from", "hence")
    mod = _qmod(ctx, g)
    if g.get("vague"):
        return "DATE", "FUTURE_REF" if forward else "PAST_REF", mod
    n = _number(ctx.v, g["num"])
    if n is None:
        return None
    if not ctx.dct:
        return "DATE", {"D": "XXXX-XX-XX", "W": "XXXX-WXX", "M": "XXXX-XX", "Q": "XXXX-QX"}.get(code, "XXXX"), mod
    sign = 1 if forward else -1
    n = n * factor
    d = ctx.dct
    if time:
        return "DATE", _iso(d), mod
    if code == "D":
        return "DATE", _iso(d + dt.timedelta(days=sign * round(n))), mod
    if code == "W":
        return "DATE", _week(d + dt.timedelta(days=sign * round(7 * n))), mod
    if code in ("M", "Q"):
        months = n * (3 if code == "Q" else 1)
        return "DATE", _add_months(d, sign * round(months)).strftime("%Y-%m"), mod
    return "DATE", str(d.year + round(sign * n)), mod


def _n_rel_unit(g: dict, ctx: _Ctx) -> Norm:
    v = ctx.v
    rel_word = " ".join(g["rel"].lower().split())
    unit = " ".join(g["runit"].lower().split())
    code = v.relative_units[unit]
    mod = _dmod(ctx, g)
    if rel_word in ("past", "coming") and not g.get("mod"):
        # "the past week", "the coming year" are stretches of time, not calendar units.
        factor = {"E": 10, "C": 100}.get(code, 1)
        return "DURATION", f"P{factor}{'Y' if code in 'EC' else code}", None
    r = v.relative[rel_word]
    dct = ctx.dct
    if dct is None:
        return "DATE", {"W": "XXXX-WXX", "M": "XXXX-XX", "Q": "XXXX-QX", "E": "XXX", "C": "XX"}.get(code, "XXXX"), mod
    if code == "W":
        return "DATE", _week(dct + dt.timedelta(days=7 * r)), mod
    if code == "M":
        return "DATE", _add_months(dct, r).strftime("%Y-%m"), mod
    if code == "Q":
        q = _add_months(dct.replace(day=1), 3 * r)
        ctx.last_quarter = (q.year, _quarter(q))
        return "DATE", f"{q.year}-Q{_quarter(q)}", mod
    if code == "E":
        return "DATE", str(dct.year + 10 * r)[:3], mod
    if code == "C":
        return "DATE", str(dct.year + 100 * r)[:2], mod
    return "DATE", str(dct.year + r), mod


def _n_mod_unit(g: dict, ctx: _Ctx) -> Norm:
    unit = (g.get("runit") or g.get("mod2") or g.get("runit2") or g.get("runit3") or "year").lower()
    mod = None if g.get("runit3") else (_dmod(ctx, g) or "END")
    dct = ctx.dct
    if dct is None:
        return "DATE", {"week": "XXXX-WXX", "month": "XXXX-XX"}.get(unit, "XXXX"), mod
    if unit == "week":
        return "DATE", _week(dct), mod
    if unit == "month":
        return "DATE", dct.strftime("%Y-%m"), mod
    if unit == "decade":
        return "DATE", str(dct.year)[:3], mod
    if unit == "century":
        return "DATE", str(dct.year)[:2], mod
    return "DATE", str(dct.year), mod


def _n_weekend(g: dict, ctx: _Ctx) -> Norm:
    text = " ".join(ctx.text[ctx.span[0]:ctx.span[1]].lower().split())
    mod = _dmod(ctx, g)
    dct = ctx.dct
    if dct is None:
        return "DATE", "XXXX-WXX-WE", mod
    tense = ctx.tense_here()
    sat_this = dct + dt.timedelta(days=6 - dct.isoweekday())  # Saturday of the DCT's ISO week
    if "next" in text or "coming" in text or (tense == "future" and "last" not in text and "past" not in text):
        sat = sat_this if dct.isoweekday() < 6 else sat_this + dt.timedelta(days=7)
    elif dct.isoweekday() >= 6 and "last" not in text:
        sat = sat_this
    else:
        sat = sat_this - dt.timedelta(days=7)
    return "DATE", _week(sat) + "-WE", mod


def _n_narrative(g: dict, ctx: _Ctx) -> Norm:
    key = " ".join(g["narr"].lower().split())
    unit, n, *pod = ctx.v.narrative[key]
    ref = ctx.last_day or ctx.dct
    pod = pod[0] if pod else None
    if ref is None:
        placeholder = {"D": "XXXX-XX-XX", "W": "XXXX-WXX", "M": "XXXX-XX"}.get(unit, "XXXX")
        return ("TIME" if pod else "DATE"), placeholder + (f"T{pod}" if pod else ""), None
    if unit == "D":
        d = ref + dt.timedelta(days=n)
        return ("TIME", f"{_iso(d)}T{pod}", None) if pod else ("DATE", _iso(d), None)
    if unit == "W":
        return "DATE", _week(ref + dt.timedelta(days=7 * n)), None
    if unit == "M":
        return "DATE", _add_months(ref, n).strftime("%Y-%m"), None
    year = ctx.last_year or ref.year
    return "DATE", str(year + n), None


def _pod_code(ctx: _Ctx, word: Optional[str]) -> Optional[str]:
    if not word:
        return None
    return ctx.v.pods.get(" ".join(word.lower().split()))


def _with_pod(day: str, pod: Optional[str]) -> tuple[str, str]:
    if not pod:
        return "DATE", day
    return "TIME", f"{day}T{pod}"


def _n_anchor(g: dict, ctx: _Ctx) -> Norm:
    v = ctx.v
    key = " ".join(g["anchor"].lower().split())
    offset, pod = v.anchors[key]
    pod = _pod_code(ctx, g.get("pod")) or pod
    mod = _dmod(ctx, g)
    if g.get("m") and g.get("d"):  # "today, Aug. 6": the explicit date wins
        return _n_date(g, ctx)
    if ctx.dct is None:
        t, val = _with_pod("XXXX-XX-XX", pod)
        return t, val, mod
    d = ctx.dct + dt.timedelta(days=offset)
    _remember_day(ctx, d)
    t, val = _with_pod(_iso(d), pod)
    return t, val, mod


def _resolve_weekday(ctx: _Ctx, wd: int, rel: Optional[str]) -> Optional[dt.date]:
    dct = ctx.dct
    if dct is None:
        return None
    delta = wd - dct.isoweekday()
    rel = " ".join(rel.lower().split()) if rel else None
    r = ctx.v.relative.get(rel) if rel else None
    if r is not None and r < 0:
        back = (dct.isoweekday() - wd) % 7 or 7
        return dct - dt.timedelta(days=back)
    if r is not None and r > 0:
        fwd = delta % 7 or 7
        return dct + dt.timedelta(days=fwd)
    if delta == 0:
        return dct
    tense = "future" if r == 0 else ctx.tense_here()
    if tense == "future":
        return dct + dt.timedelta(days=delta % 7)
    # News mostly reports what already happened: default to the most recent such day.
    return dct - dt.timedelta(days=(-delta) % 7)


def _n_weekday(g: dict, ctx: _Ctx) -> Norm:
    wd = _weekday_num(ctx.v, g["wd"])
    pod = _pod_code(ctx, g.get("pod"))
    mod = _dmod(ctx, g)
    d = _resolve_weekday(ctx, wd, g.get("rel"))
    if d is None:
        t, val = _with_pod(f"XXXX-WXX-{wd}", pod)
        return t, val, mod
    _remember_day(ctx, d)
    t, val = _with_pod(_iso(d), pod)
    return t, val, mod


def _n_pod_weekday(g: dict, ctx: _Ctx) -> Norm:
    pod = _pod_code(ctx, g.get("pod2")) or _pod_code(ctx, g.get("pod"))
    mod = _dmod(ctx, g)
    if g.get("m") and g.get("d"):
        res = _n_date({"m": g["m"], "d": g["d"], "wd": g.get("wd")}, ctx)
        day = res[1]
        d = as_date(day)
    elif g.get("wd"):
        wd = _weekday_num(ctx.v, g["wd"])
        d = _resolve_weekday(ctx, wd, None)
        day = _iso(d) if d else f"XXXX-WXX-{wd}"
    elif g.get("anchor"):
        offset, _ = ctx.v.anchors[g["anchor"].lower()]
        d = ctx.dct + dt.timedelta(days=offset) if ctx.dct else None
        day = _iso(d) if d else "XXXX-XX-XX"
    else:
        d = ctx.dct
        day = _iso(d) if d else "XXXX-XX-XX"
    if d:
        _remember_day(ctx, d)
    return "TIME", f"{day}T{pod}", mod


def _n_clock(g: dict, ctx: _Ctx) -> Norm:
    raw = g["clock"].lower().replace(" ", "")
    m = re.match(r"(\d{1,2})[:.]?(\d\d)?", raw)
    hh, mm = int(m.group(1)), int(m.group(2) or 0)
    if "p" in raw and hh < 12:
        hh += 12
    if "a" in raw and hh == 12:
        hh = 0
    if hh > 24 or mm > 59:
        return None
    day: Optional[str] = None
    if g.get("wd") and not g.get("m"):
        d = _resolve_weekday(ctx, _weekday_num(ctx.v, g["wd"]), None)
        day = _iso(d) if d else f"XXXX-WXX-{_weekday_num(ctx.v, g['wd'])}"
    elif g.get("m") or g.get("m2"):
        sub = {"m": g.get("m") or g.get("m2"), "d": g.get("d") or g.get("d2"), "y": g.get("y"), "wd": g.get("wd")}
        res = _n_date(sub, ctx)
        day = res[1] if res else None
    elif g.get("anchor"):
        offset, _ = ctx.v.anchors[g["anchor"].lower()]
        day = _iso(ctx.dct + dt.timedelta(days=offset)) if ctx.dct else "XXXX-XX-XX"
    if day is None:
        day = _iso(ctx.last_day or ctx.dct) if (ctx.last_day or ctx.dct) else "XXXX-XX-XX"
    return "TIME", f"{day}T{hh:02d}:{mm:02d}", None


def _n_holiday(g: dict, ctx: _Ctx) -> Norm:
    name = " ".join(g["hol"].split())
    rule = ctx.v.holidays[name]
    if g.get("y"):
        return "DATE", _iso(_holiday_date(rule, _year_int(g["y"]))), None
    if not ctx.dct:
        return "DATE", "XXXX-" + rule if re.fullmatch(r"\d\d-\d\d", rule) else "XXXX-XX-XX", None
    cands = [_holiday_date(rule, y) for y in (ctx.dct.year - 1, ctx.dct.year, ctx.dct.year + 1)]
    rel = g.get("rel")
    r = ctx.v.relative.get(rel.lower()) if rel else None
    if r is not None and r < 0:
        pick = max(c for c in cands if c < ctx.dct)
    elif r is not None and r > 0:
        pick = min(c for c in cands if c > ctx.dct)
    else:
        pick = _pick(cands, ctx.dct, ctx.tense_here())
    return "DATE", _iso(pick), None


def _n_season(g: dict, ctx: _Ctx) -> Norm:
    code = ctx.v.seasons[g["season"].lower()]
    mod = _dmod(ctx, g) or _dmod(ctx, g, "mod2")
    if g.get("y"):
        return "DATE", f"{_year_int(g['y'])}-{code}", mod
    dct = ctx.dct
    if dct is None:
        return "DATE", f"XXXX-{code}", mod
    rel = " ".join((g.get("rel") or "").lower().split())
    start = _SEASON_MONTHS[code][0]
    # The year a season "belongs" to is the year it starts in (winter 2023 = Dec 2023 - Feb 2024).
    # Two years back: in January, the last winter that has ended began in December two years ago
    # ("last winter" said on 2025-01-15 is 2023-WI); with one year back there was no candidate.
    cands = [dt.date(y, start, 1) for y in (dct.year - 2, dct.year - 1, dct.year, dct.year + 1)]
    cur = dct.replace(day=1)
    if rel in ("last", "this past", "the past", "past"):
        pick = max((c for c in cands if _add_months(c, 2) < cur), default=cands[0])
    elif rel in ("next", "this coming", "coming"):
        pick = min((c for c in cands if c > cur), default=cands[-1])
    elif rel == "this":
        pick = dt.date(dct.year, start, 1)
    else:
        pick = dt.date(dct.year, start, 1)  # "in the summer": the document's year (tense cues did worse)
    return "DATE", f"{pick.year}-{code}", mod


def _n_decade(g: dict, ctx: _Ctx) -> Norm:
    dec = g["dec"].replace("\u2019", "'")
    mod = _dmod(ctx, g)
    digits = re.sub(r"\D", "", dec)
    if len(digits) == 2:  # '90s: the century comes from the DCT, else the 20th
        century = (ctx.dct.year // 100) if ctx.dct else 19
        if ctx.dct and int(digits) > ctx.dct.year % 100:
            century -= 1
        digits = f"{century}{digits}"
    return "DATE", digits[:3], mod


_CENT_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
               "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
               "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
               "twentieth": 20, "twenty-first": 21}


def _n_century(g: dict, ctx: _Ctx) -> Norm:
    mod = _dmod(ctx, g)
    if g.get("cord"):
        word = g["cord"].lower()
        n = _CENT_WORDS.get(word) or _digits(word)
        return "DATE", f"{n - 1:02d}", mod
    rel = " ".join(g["crel"].lower().split())
    if ctx.dct is None:
        return "DATE", "XX", mod
    c = ctx.dct.year // 100
    if rel in ("last", "the last", "the past"):
        if "the" in rel:
            return "DURATION", "P100Y", None
        c -= 1
    elif rel == "next":
        c += 1
    return "DATE", f"{c:02d}", mod


def _n_year(g: dict, ctx: _Ctx) -> Norm:
    mod = _dmod(ctx, g)
    if g.get("y2d"):
        yy = int(re.sub(r"\D", "", g["y2d"]))
        base = ctx.dct.year if ctx.dct else 2000
        y = min((c * 100 + yy for c in (base // 100 - 1, base // 100)), key=lambda x: abs(x - base))
        return "DATE", str(y), mod
    y = _year_int(g["y"])
    ctx.last_year = y
    return "DATE", str(y), mod


def _n_duration(g: dict, ctx: _Ctx) -> Norm:
    v = ctx.v
    mod = _qmod(ctx, g)
    if g.get("orso") and "so" in g["orso"]:
        mod = "APPROX"
    if g.get("bare"):
        unit = g["bare"].lower()
        code, factor, time = _unit_info(ctx, unit)
        return "DURATION", _duration(None, "Y" if factor > 1 else code, time), mod
    code, factor, time = _unit_info(ctx, g["unit"])
    if g.get("vague") or not g.get("num"):
        return "DURATION", _duration(None, "Y" if factor > 1 else code, time), mod
    n = _number(v, g["num"])
    if n is None:
        return "DURATION", _duration(None, code, time), mod
    if g.get("half"):
        n += 0.5
    anchored = None if g.get("rel") or g.get("qmod") else _anchored_duration(g, ctx, n, code, time)
    if anchored:
        return anchored
    n *= factor
    if n > 10000:
        return None
    return "DURATION", _duration(n, code, time), mod


def _n_set(g: dict, ctx: _Ctx) -> Norm:
    v = ctx.v
    if g.get("setw"):
        return "SET", v.sets[g["setw"].lower().replace("-", "")], None
    if g.get("wdp"):
        wd = v.weekdays_plural[g["wdp"]]
        pod = {"mornings": "MO", "afternoons": "AF", "evenings": "EV", "nights": "NI"}.get((g.get("pod") or "").lower())
        return "SET", f"XXXX-WXX-{wd}" + (f"T{pod}" if pod else ""), None
    if g.get("wd"):
        return "SET", f"XXXX-WXX-{_weekday_num(v, g['wd'])}", None
    if g.get("m"):
        return "SET", f"XXXX-{_month_num(v, g['m']):02d}", None
    if g.get("season"):
        return "SET", f"XXXX-{v.seasons[g['season'].lower()]}", None
    if g.get("pod"):
        pod = g["pod"].lower()
        return "SET", "P1W" if pod == "weekend" else f"XXXX-XX-XXT{v.pods[pod]}", None
    code, factor, time = _unit_info(ctx, g["unit"])
    n = _number(v, g["num"]) if g.get("num") else 1.0
    if n is None:
        return None
    if g.get("other"):
        n *= 2
    return "SET", _duration(n * factor, code, time), None


def _n_reference(g: dict, ctx: _Ctx) -> Norm:
    return "DATE", ctx.v.refs[" ".join(g["ref"].lower().split())], None


_NORMS: dict[str, Callable[[dict, _Ctx], Norm]] = {
    "numeric_date": _n_numeric_date, "date": _n_date, "month": _n_month, "half": _n_half,
    "quarter": _n_quarter, "year_earlier": _n_year_earlier, "ago": _n_ago, "rel_unit": _n_rel_unit,
    "mod_unit": _n_mod_unit, "weekend": _n_weekend, "narrative": _n_narrative, "anchor": _n_anchor,
    "weekday": _n_weekday, "pod_weekday": _n_pod_weekday, "clock": _n_clock, "holiday": _n_holiday,
    "season": _n_season, "decade": _n_decade, "century": _n_century, "year": _n_year,
    "duration": _n_duration, "set": _n_set, "reference": _n_reference,
}


# ---------------------------------------------------------------------------
# Match filters (context a regex cannot see cheaply)
# ---------------------------------------------------------------------------



def _keep(rule: _Rule, m: re.Match, text: str, v: _Vocab) -> Optional[str]:
    """Return None to keep the match, 'drop' to ignore it, 'invalid' if it is an impossible date."""
    g = m.groupdict()
    start, end = m.span()
    before = text[max(0, start - 40):start]
    after = text[end:end + 30]
    if rule.before and not rule.before.search(before):
        return "drop"
    if rule.norm in ("date",) and g.get("m") and g.get("d"):
        y = _year_int(g["y"]) if g.get("y") else None
        if not _valid_day(y, _month_num(v, g["m"]), _digits(g["d"])):
            return "invalid"
    if rule.norm == "numeric_date":
        y = _year_int(g["y"])
        y = y + (2000 if y < 50 else 1900) if y < 100 else y
        if not _valid_day(y, int(g["m"]), int(g["d"])):
            return "invalid"
    if rule.id == "month":
        word = g["m"]
        prev = re.search(r"(\S+)\s+$", before)
        prev_word = prev.group(1) if prev else ""
        dateish = prev_word.lower() in v.month_context
        if word in v.ambiguous_months or word.rstrip(".") in v.ambiguous_months:
            # "Theresa May", "may", "March on": only with a date-ish word next to it.
            if not g.get("mod") and not g.get("yp") and not dateish:
                return "drop"
        elif prev_word[:1].isupper() and prev_word[-1:] not in ".!?:\"'" and not g.get("mod") and not dateish:
            return "drop"  # "Jennifer April" style names
        if re.match(r"\s+\d", after) and not re.match(r"\s+\d{4}", after):
            return "drop"
    if rule.id in ("year", "year2") and not g.get("mod") and not g.get("fiscal"):
        if v.year_not_before.search(before):
            return "drop"
        if not v.year_temporal_before.search(before) and v.year_not_after.search(after):
            return "drop"
        if re.match(r"\s*(?:-|\u2013)\s*\d", after) and not re.match(r"\s*(?:-|\u2013)\s*\d{2,4}\b", after):
            return "drop"
    if rule.id == "season" and not (g.get("rel") or g.get("y") or g.get("mod") or g.get("mod2")):
        if not re.search(r"\b(?:in|during|by|until|since|over|through)\s+$", before, re.I):
            return "drop"
    fall_of = re.match(r"\s+of\s+(?!\d)", after, re.I)
    if rule.id == "season" and g["season"].lower() == "fall" and fall_of and not g.get("y"):
        return "drop"  # "the fall of Kabul"
    if rule.norm == "duration" and g.get("num") and g.get("unit"):
        num = g["num"].lower().strip()
        if num in ("a", "an") and g["unit"].lower() == "second":
            return "drop"
        if num in ("a", "an") and v.rate_before.search(before):
            return "drop"  # "$5 a year" is a rate (SET)
        if after.startswith("-old") or re.match(r"-?\s*olds?\b", after):
            return "drop"  # ages ("a 45-year-old") are attributes of people, not times
        if re.fullmatch(r"1[0-9]\d\d|20\d\d", num) and not g["unit"].lower().endswith("s"):
            return "drop"  # "the 1988 quarter" names a year, it is no duration
    if rule.id == "set_every" and g["every"].lower() in ("a", "an", "per"):
        if not g.get("freq") and not v.rate_before.search(before) and g["every"].lower() != "per":
            return "drop"
        if not g.get("unit"):
            return "drop"
    if rule.id == "reference" and g["ref"].lower() == "current":
        if not re.match(r"\s+[a-z]", after):
            return "drop"
    return None


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

@dataclass
class TagResult(Record):
    """Expressions plus what could not be made into one (impossible or self-contradicting dates)."""

    timexes: list[Timex]
    invalid: list[tuple[Span, str]]  # spans of impossible dates ("February 30")
    conflicts: list[tuple[Span, str]]  # weekday and date that disagree ("Sunday, Aug. 7, 2023")


def analyse(text: str, dct: DateLike = None) -> TagResult:
    """Tag ``text`` and also report impossible and self-contradicting dates."""
    v = vocab()
    dct_date = as_date(dct)
    candidates = []
    for rule in v.rules:
        for m in rule.regex.finditer(text):
            if m.end() == m.start():
                continue
            verdict = _keep(rule, m, text, v)
            if verdict == "drop":
                continue
            candidates.append((m.start(), m.end(), rule, m, verdict == "invalid"))
    chosen = _resolve_overlaps(candidates)
    ctx = _Ctx(text, dct_date, v)
    out: list[Timex] = []
    invalid: list[tuple[Span, str]] = []
    for start, end, rule, m, bad in chosen:
        start, end = _trim(rule, m, text, start, end)
        if bad:
            invalid.append(((start, end), text[start:end]))
            continue
        ctx.span = (start, end)
        res = _NORMS[rule.norm](m.groupdict(), ctx)
        if res is None:
            continue
        type_, value, mod = res
        out.append(Timex((start, end), text[start:end], type_, value, mod, rule.id))
    return TagResult(out, invalid, ctx.conflicts)


def tag(text: str, dct: DateLike = None) -> list[Timex]:
    """Find temporal expressions in ``text`` and normalise them against ``dct``.

    Args:
        text: the article text (spans are offsets into it).
        dct: document creation time (date, datetime or ISO string); None leaves
            relative expressions unanchored (``XXXX-WXX-7``).

    Returns:
        Timex records in text order.
    """
    return analyse(text, dct).timexes


_POSSESSIVE = re.compile(r"(?i)(?:its|their|his|her|our|my|your)\s+")
_ARTICLE = re.compile(r"(?i)(?:a|an|the)\s+")


def _trim(rule: _Rule, m: re.Match, text: str, start: int, end: int) -> tuple[int, int]:
    """Trim words TimeML leaves outside the expression: possessives, "'s", and the
    article of an adjective ("a two-year [plan]", "a third-quarter [loss]")."""
    s = text[start:end]
    p = _POSSESSIVE.match(s)
    if p:
        start += p.end()
        s = text[start:end]
    if re.search(r"['\u2019]s$", s) and rule.norm in ("rel_unit", "quarter", "weekday", "anchor"):
        end -= 2
        s = text[start:end]
    a = _ARTICLE.match(s)
    if a and rule.norm in ("duration", "quarter"):
        g = m.groupdict()
        article = a.group().strip().lower()
        adjective = "-" in s or (rule.norm == "duration" and not g.get("rel") and not g.get("qmod"))
        is_number = rule.norm == "duration" and article in ("a", "an") and (g.get("num") or "").lower() == article
        if adjective and not is_number and not (rule.norm == "quarter" and "-" not in s):
            start += a.end()
    return start, end


def _resolve_overlaps(cands: list) -> list:
    """Keep the longest non-overlapping matches; ties go to the earlier rule."""
    cands.sort(key=lambda c: (-(c[1] - c[0]), c[2].order, c[0]))
    # One byte per character taken: linear in the matched text (inserting into a sorted list of
    # taken spans was quadratic in the number of expressions).
    taken = bytearray(max((c[1] for c in cands), default=0))
    chosen = []
    for c in cands:
        s, e = c[0], c[1]
        if taken.find(1, s, e) != -1:
            continue
        taken[s:e] = b"\x01" * (e - s)
        chosen.append(c)
    chosen.sort(key=lambda c: c[0])
    return chosen


def impossible_dates(text: str) -> list[tuple[Span, str]]:
    """Spans of dates that cannot exist ("February 30", "31/04/2023")."""
    return analyse(text, None).invalid
