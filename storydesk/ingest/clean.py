"""Remove web boilerplate from article text without losing anything.

Every removed line is returned with its reason. Rules live in
``storydesk/data/boilerplate.json``; this module only applies them.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Optional

from ..records import Removal
from ..text import alternation, load_data

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_TERMINAL = tuple(".!?:;\"'\u201d\u2019)")
_AGENCY_WORDS = re.compile(r"\b(Press|News|Agency|Wire|Presse|Service)\b")


@dataclass
class Cleaned:
    """Cleaned text plus what was removed and the metadata found on the way."""

    text: str
    removed: list[Removal] = field(default_factory=list)
    title: Optional[str] = None
    published: Optional[str] = None
    authors: list[str] = field(default_factory=list)
    outlet: Optional[str] = None
    wire: Optional[str] = None


@dataclass
class _Line:
    text: str
    blank_before: bool
    reason: Optional[str] = None


class _Rules:
    """The boilerplate vocabulary, compiled once."""

    def __init__(self, data: dict):
        self.exact = {line: reason for reason, lines in data["exact_lines"].items() for line in lines}
        self.sections = set(data["section_labels"])
        self.patterns = [(re.compile(p["pattern"], re.I), p["reason"]) for p in data["line_patterns"]]
        self.caption_end = [re.compile(p) for p in data["caption_end_patterns"]]
        self.caption_start = [re.compile(p) for p in data["caption_start_patterns"]]
        self.byline = re.compile(data["byline_pattern"], re.I)
        self.source_credit = re.compile(data["source_credit_pattern"], re.I)
        self.more_from_outlet = re.compile(data["more_from_outlet_pattern"])
        self.teaser_date = [re.compile(p, re.I) for p in data["teaser_date_patterns"]]
        self.teaser_max_words = data["teaser_max_words"]
        self.teaser_back = data["teaser_max_lines_back"]
        self.dateline_only = re.compile(data["dateline_only_pattern"])
        self.dateline_wire = re.compile(data["dateline_wire_pattern"])
        keys = alternation(data["leading_metadata_keys"])
        # "(\S(?:.*\S)?)\s*$", not "(.+?)\s*$": the lazy form re-scanned the trailing spaces at every
        # character, quadratic on a line with a long run of spaces.
        self.meta_line = re.compile(rf"^\s*({keys})\s*:\s*(\S(?:.*\S)?)\s*$", re.I)
        # No "^": it is matched at a position (``match(text, pos)``), where "^" would never match.
        self.meta_date = re.compile(r"\s*(?:date|published)\s*:?\s*(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?Z?)?)\b\s*", re.I)


@functools.lru_cache(maxsize=1)
def rules() -> _Rules:
    return _Rules(load_data("boilerplate.json"))


@functools.lru_cache(maxsize=1)
def wire_aliases() -> dict[str, str]:
    """Map every agency alias to its canonical name."""
    data = load_data("wire_agencies.json")
    return {alias: a["name"] for a in data["agencies"] for alias in a["aliases"]}


def normalise_input(text: str) -> str:
    """Unicode NFC, unified newlines, no zero-width characters."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_text(text: str, *, find_title: bool = True) -> Cleaned:
    """Clean plain article text (from a file, a feed or an HTML extraction)."""
    out = Cleaned(text="")
    text = _leading_metadata(normalise_input(text), out)
    lines = _unwrap(_split_lines(text))
    r = rules()
    for i, line in enumerate(lines):
        line.reason = line.reason or _line_reason(line.text, r, out, lines, i)
    _mark_captions(lines, r)
    _mark_teasers(lines, r)
    kept = _merge_datelines([ln for ln in lines if ln.reason is None], r, out)
    if find_title and len(kept) > 1 and _looks_like_title(kept[0].text):
        out.title = kept[0].text
        kept[0].reason = "title"
    out.removed = [Removal(ln.text, ln.reason) for ln in lines if ln.reason] + out.removed
    out.text = "\n\n".join(ln.text for ln in kept if ln.reason is None)
    return out


def _leading_metadata(text: str, out: Cleaned) -> str:
    """Read ``date 2023-11-11`` / ``key: value`` header lines as metadata.

    Works with a position into ``text``: cutting the text after every header line copied it
    once per line (quadratic in a file of thousands of "title:" lines).
    """
    r = rules()
    pos = 0
    while True:
        m = r.meta_date.match(text, pos)
        if m and m.group(1):
            out.published = m.group(1).replace(" ", "T")
            out.removed.append(Removal(m.group(0).strip(), "metadata_line"))
            pos = m.end()
            continue
        while pos < len(text) and text[pos] == "\n":
            pos += 1
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol
        first = text[pos:eol]
        meta = r.meta_line.match(first)
        if not meta:
            return text[pos:]
        _apply_meta(meta.group(1).lower(), meta.group(2), out)
        out.removed.append(Removal(first.strip(), "metadata_line"))
        pos = eol + 1


def _apply_meta(key: str, value: str, out: Cleaned) -> None:
    if key in ("date", "published", "publication date", "dateline date"):
        out.published = value
    elif key in ("title", "headline"):
        out.title = value
    elif key in ("source", "outlet"):
        out.outlet = value
    elif key in ("author", "by"):
        out.authors = [a.strip() for a in re.split(r",| and |;", value) if a.strip()]


def _split_lines(text: str) -> list[_Line]:
    lines, blank = [], True
    for raw in text.split("\n"):
        stripped = " ".join(raw.split())
        if not stripped:
            blank = True
            continue
        lines.append(_Line(stripped, blank))
        blank = False
    return lines


def _unwrap(lines: list[_Line]) -> list[_Line]:
    """Join hard-wrapped lines (fixed-width text) back into paragraphs."""
    if len(lines) < 6 or not any(ln.blank_before for ln in lines[1:]):
        return lines
    wrapped = [ln for ln in lines if 40 <= len(ln.text) <= 100 and not ln.text.endswith(_TERMINAL)]
    if len(wrapped) < 0.5 * len(lines):
        return lines
    joined: list[_Line] = []
    for ln in lines:
        if joined and not ln.blank_before:
            joined[-1].text += " " + ln.text
        else:
            joined.append(_Line(ln.text, ln.blank_before))
    return joined


def _line_reason(text: str, r: _Rules, out: Cleaned, lines: list[_Line], i: int) -> Optional[str]:
    folded = text.casefold().strip(" :|\u2022")
    if folded in r.exact:
        return r.exact[folded]
    if folded in r.sections and len(folded) <= 30:
        return "section_label"
    if i >= len(lines) - 5 and (m := r.more_from_outlet.match(text)):
        out.outlet = out.outlet or m.group(1).strip()
    if i >= len(lines) - 3 and (m := r.source_credit.match(text)):
        out.outlet = out.outlet or m.group(1).strip()
        return "source_credit"
    if len(text.split()) <= 12 and (m := r.byline.match(text)):  # short lines only: a byline is short
        _read_byline(m.group(1), lines, i, out)
        return "byline"
    if any(p.match(text) for p in r.teaser_date):
        return "teaser_date"
    for pattern, reason in r.patterns:
        if pattern.match(text):
            return reason
    return None


def _read_byline(names: str, lines: list[_Line], i: int, out: Cleaned) -> None:
    out.authors = [n.strip().title() for n in re.split(r",| and |&", names) if n.strip()]
    if i + 1 < len(lines):
        nxt = lines[i + 1].text.strip()
        agency = wire_aliases().get(nxt)
        if agency or (len(nxt.split()) <= 5 and _AGENCY_WORDS.search(nxt)):
            out.wire = agency or nxt
            lines[i + 1].reason = "byline"


def _mark_captions(lines: list[_Line], r: _Rules) -> None:
    """Photo captions: paragraphs ending in a credit, and lines above a credit line."""
    for i, ln in enumerate(lines):
        if ln.reason is None and (any(p.search(ln.text) for p in r.caption_end)
                                  or any(p.match(ln.text) for p in r.caption_start)):
            ln.reason = "photo_caption"
        if ln.reason == "photo_credit":
            j = i
            # The caption (and image alt text) sit directly above the credit, with no blank line.
            while j > 0 and not lines[j].blank_before and lines[j - 1].reason is None and i - j < 3:
                j -= 1
                lines[j].reason = "photo_caption"


def _mark_teasers(lines: list[_Line], r: _Rules) -> None:
    """Related-article teasers: a date line with its headline and deck above it."""
    for i, ln in enumerate(lines):
        if ln.reason != "teaser_date":
            continue
        ln.reason = "related_teaser"
        j, taken = i - 1, 0
        while j >= 0 and taken < r.teaser_back:
            above = lines[j]
            if above.reason is not None or len(above.text.split()) > r.teaser_max_words:
                break
            above.reason = "related_teaser"
            taken += 1
            j -= 1


def _merge_datelines(kept: list[_Line], r: _Rules, out: Cleaned) -> list[_Line]:
    """Join a dateline standing on its own line ("NIAMEY, Niger —") to its paragraph."""
    merged: list[_Line] = []
    pending = None
    for ln in kept:
        if (m := r.dateline_wire.match(ln.text)) and not out.wire:
            out.wire = wire_aliases().get(m.group(1).strip(), m.group(1).strip())
        if r.dateline_only.match(ln.text):
            pending = ln.text
            continue
        if pending:
            ln = _Line(f"{pending} {ln.text}", ln.blank_before)
            pending = None
        merged.append(ln)
    if pending:
        merged.append(_Line(pending, True))
    return merged


def _looks_like_title(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 30 and not text.endswith((".", ",", ";", ":", "\u201d", '"')) \
        and not text.startswith(("\u201c", '"'))
