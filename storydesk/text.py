"""Text utilities shared by every stage: sentence spans, normalisation, shingles."""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib import resources
from typing import Iterable

Span = tuple[int, int]

_QUOTE_MAP = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                            "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
                            "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})
# A candidate boundary: terminal punctuation, closing quotes/brackets, whitespace.
# The lookbehind starts a match only at the first mark of a run, so a run of 60,000 dots is one
# attempt, not 60,000 (each scanning to the end of the run): linear, not quadratic.
_BOUNDARY = re.compile(r"(?<![.!?\u2026])[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u024f])")
_ABBREV_MAX = 40  # no abbreviation is longer; the look back for one stops there
_PARA = re.compile(r"\n\s*\n|\n")


def alternation(items: Iterable[str]) -> str:
    """Regex alternation of literal ``items``: escaped, longest first (so "New York City" wins
    over "New York"), a space matching any run of whitespace. Empty items are dropped."""
    return "|".join(re.escape(i).replace(r"\ ", r"\s+") for i in sorted({i for i in items if i}, key=lambda i: (-len(i), i)))


def load_data(name: str) -> dict:
    """Load a JSON vocabulary from ``storydesk/data``."""
    return _load_data_cached(name)


@functools.lru_cache(maxsize=None)
def _load_data_cached(name: str) -> dict:
    return json.loads(resources.files("storydesk.data").joinpath(name).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    data = load_data("abbreviations.json")
    return frozenset(w for key, words in data.items() if not key.startswith("_") for w in words)


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(text: str) -> str:
    """Lone surrogates (a JSON ``\\ud800``, an undecodable file name) as U+FFFD: they cannot be
    encoded, stored or printed."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def normalise(text: str) -> str:
    """Fold Unicode, quotes, dashes, case and whitespace for comparisons."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_MAP)
    return " ".join(text.casefold().split())


def paragraph_spans(text: str) -> list[Span]:
    """Spans of non-blank lines (paragraphs are one line each after cleaning)."""
    spans, start = [], 0
    for m in _PARA.finditer(text):
        _add_trimmed(spans, text, start, m.start())
        start = m.end()
    _add_trimmed(spans, text, start, len(text))
    return spans


def sentence_spans(text: str) -> list[Span]:
    """Split ``text`` into sentence spans (offsets into ``text``), stripped of whitespace."""
    return list(_sentence_spans(text))


@functools.lru_cache(maxsize=256)
def _sentence_spans(text: str) -> tuple[Span, ...]:
    # Remembered: every stage splits the same articles (a story re-run asked ~15 times per article).
    spans: list[Span] = []
    for p_start, p_end in paragraph_spans(text):
        start = p_start
        para = text[p_start:p_end]
        for m in _BOUNDARY.finditer(para):
            end = p_start + m.end()
            if _is_abbreviation(text, start, p_start + m.start(), m.group()):
                continue
            _add_trimmed(spans, text, start, end)
            start = end
        _add_trimmed(spans, text, start, p_end)
    return tuple(spans)


def _is_abbreviation(text: str, sent_start: int, dot: int, punct: str) -> bool:
    if not punct.startswith(".") or len(punct.rstrip("\"'\u201d\u2019)]")) > 1:
        return False
    # The word before the period, found by walking back from it (bounded), not by re-scanning
    # the sentence so far at every period ("Mr. Mr. Mr. ..." was quadratic).
    start = dot
    while start > sent_start and dot - start < _ABBREV_MAX and (text[start - 1].isalnum()
                                                                 or text[start - 1] in "._"):
        start -= 1
    if start == dot or (start > sent_start and (text[start - 1].isalnum() or text[start - 1] in "._")):
        return False  # no word, or one longer than any abbreviation
    token = text[start:dot].lower()
    # Single initials ("J. Smith") and known abbreviations do not end sentences.
    return (len(token) == 1 and token.isalpha()) or token in _abbreviations()


def _add_trimmed(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


_WORD = re.compile(r"[\w\u00c0-\u024f]+(?:['\u2019][\w]+)?")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (quotes and dashes folded)."""
    return _WORD.findall(normalise(text))


def shingles(text: str, n: int = 5) -> set[str]:
    """Word n-grams of ``text`` as strings."""
    toks = words(text)
    if len(toks) < n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)}
