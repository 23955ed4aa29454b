"""One source of truth for the dates of an article and of a story.

Every command that shows a story's dates (``stories``, the briefing header, the
per-story pages, the table of contents) asks :func:`story_range`, so they cannot
disagree. A stated publication date that the dating stage flagged as not fitting
the content (``date_mismatch``) is left out: the other articles' dates, which fit
their content, speak for the story.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterable, Optional

from ..records import Article, Story

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _day(value: Optional[str]) -> Optional[dt.date]:
    m = _DAY.match(value or "")
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None  # an impossible date is no date


def article_day(article: Article) -> Optional[dt.date]:
    """The day of an article's stated date, unless it is flagged as not fitting the content."""
    return None if article.has_flag("date_mismatch") else _day(article.published)


def story_range(articles: Iterable[Article], story: Optional[Story] = None
                ) -> tuple[Optional[dt.date], Optional[dt.date]]:
    """First and last day of a story's trusted article dates (see :func:`article_day`).

    Falls back on the story's ``first_seen``/``last_seen`` only when no article is in hand (an
    index without its articles); with articles but no trusted date the range is unknown.
    """
    articles = list(articles)
    days = [d for d in map(article_day, articles) if d]
    if days:
        return min(days), max(days)
    if story is not None and not articles:
        first, last = _day(story.first_seen), _day(story.last_seen)
        return first or last, last or first
    return None, None
