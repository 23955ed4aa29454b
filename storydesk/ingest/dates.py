"""Normalise publication dates found in metadata to ISO 8601."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any, Optional


def iso_date(value: Any) -> Optional[str]:
    """ISO date (``2025-10-23``) or datetime (``2025-10-23T08:15:00+00:00``), or None."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return _from_timestamp(value)
    text = str(value).strip()
    try:
        return _format(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    return _parse_loose(text)


def _parse_loose(text: str) -> Optional[str]:
    from dateutil import parser as dparser

    try:
        parsed = dparser.parse(text, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
    return _format(parsed)


def _format(value: dt.datetime) -> str:
    if isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return value.isoformat()
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


def _from_timestamp(value: float) -> Optional[str]:
    if value > 1e11:  # milliseconds
        value /= 1000
    try:
        return _format(dt.datetime.fromtimestamp(value, tz=dt.timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def struct_to_iso(value: Optional[time.struct_time]) -> Optional[str]:
    """feedparser's parsed dates (UTC struct_time) to ISO."""
    if not value:
        return None
    return _format(dt.datetime(*value[:6], tzinfo=dt.timezone.utc))
