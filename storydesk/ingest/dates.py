"""Normalise publication dates found in metadata to ISO 8601.

A value that is not a possible publication date (year 0, a negative year, a timestamp
thousands of years away, "March 3" with no year) becomes None, never a guessed date: the
reader then flags the article ``unreadable_date`` and the date is unknown.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import time
from typing import Any, Optional

MIN_YEAR, MAX_YEAR = 1500, 2200  # outside this a "publication date" is a typo or garbage
_SIGNED = re.compile(r"^\s*[-+]\s*\d")
_MAX_TEXT = 200  # a date longer than this is not a date (and the loose parser is not fed megabytes)


def iso_date(value: Any) -> Optional[str]:
    """ISO date (``2025-10-23``) or datetime (``2025-10-23T08:15:00+00:00``), or None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_timestamp(value)
    if not isinstance(value, str):
        return None  # a list or an object where a date belongs
    text = value.strip()
    if not text or len(text) > _MAX_TEXT or _SIGNED.match(text):
        return None
    try:
        return _checked(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        pass
    return _parse_loose(text)


def _parse_loose(text: str) -> Optional[str]:
    from dateutil import parser as dparser

    try:
        # Parsed against two different defaults: if the results differ, the text lacks a year,
        # month or day and dateutil filled it in from the defaults; that is a guess, not a date.
        a = dparser.parse(text, fuzzy=False, default=dt.datetime(2001, 1, 1))
        b = dparser.parse(text, fuzzy=False, default=dt.datetime(2002, 2, 2))
    except (ValueError, OverflowError, TypeError, ArithmeticError):
        return None
    if a.date() != b.date() or not year_in_text(a.year, text):
        return None
    return _checked(a)


def _checked(value: dt.datetime) -> Optional[str]:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    try:
        return _format(value)
    except (ValueError, OverflowError):
        return None


def _format(value: dt.datetime) -> str:
    if isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return value.isoformat()
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


def _from_timestamp(value: float) -> Optional[str]:
    try:
        value = float(value)  # an integer of 400 digits raises OverflowError here
    except (OverflowError, ValueError):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    if value > 1e11:  # milliseconds
        value /= 1000
    try:
        return _checked(dt.datetime.fromtimestamp(value, tz=dt.timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def struct_to_iso(value: Optional[time.struct_time]) -> Optional[str]:
    """feedparser's parsed dates (UTC struct_time) to ISO; None for impossible ones."""
    if not value:
        return None
    try:
        return _checked(dt.datetime(*value[:6], tzinfo=dt.timezone.utc))
    except (ValueError, OverflowError, TypeError):
        return None


def year_in_text(year: int, text: str) -> bool:
    """Whether ``text`` writes ``year``: its 4-digit year when it has one ("0000" is not 2000),
    else 2 digits as in "24 Oct 25" (not the "00" of a clock time)."""
    fours = re.findall(r"(?<![\d:])[-+]?\d{4}(?![\d:])", text)
    if fours:
        return str(year) in fours
    return re.search(rf"(?<![\d:]){year % 100:02d}(?![\d:])", text) is not None
