"""Readers: turn one input file's bytes into raw documents.

A reader yields ``RawDoc`` objects, or ``IngestError`` objects for single
entries that fail (a bad JSONL line), so the rest of the file still goes in.
Whole-file failures raise an ``IngestError``.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Union

from .. import errors
from ..records import Flag, Removal
from ..text import load_data, normalise
from .dates import iso_date, struct_to_iso
from .detect import decode

_BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th",
               "section", "article", "aside", "nav", "header", "footer", "figure", "figcaption", "blockquote",
               "pre", "table", "form", "button", "dd", "dt", "main", "address"}
# On a whole page, links and spans in menus are separate pieces of chrome; inside article text they are inline.
_PAGE_TAGS = _BLOCK_TAGS | {"a", "span", "time", "label"}
_INVISIBLE = "//script|//style|//noscript|//template|//svg|//head|//iframe|//object"


@dataclass
class RawDoc:
    """One article as a reader found it, before cleaning."""

    format: str
    body: str
    is_html: bool = False
    entry: Optional[int] = None
    url: Optional[str] = None
    title: Optional[str] = None
    outlet: Optional[str] = None
    authors: list[str] = field(default_factory=list)
    published: Optional[str] = None
    wire: Optional[str] = None
    language: Optional[str] = None
    flags: list[Flag] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)


Yield = Iterator[Union[RawDoc, errors.IngestError]]


def read_text(path: str, data: bytes, **_: Any) -> Yield:
    text, flags = decode(path, data)
    if not text.strip():
        raise errors.EmptyInput(path)
    yield RawDoc("text", text, flags=flags)


def read_html(path: str, data: bytes, url: Optional[str] = None, **_: Any) -> Yield:
    html, flags = decode(path, data, _declared_charset(data))
    if not html.strip():
        raise errors.EmptyInput(path)
    doc = html_document(path, html, url)
    doc.flags = flags + doc.flags
    yield doc


def html_document(path: str, html: str, url: Optional[str] = None, fmt: str = "html") -> RawDoc:
    """Main text and metadata of an HTML page (trafilatura + htmldate)."""
    import trafilatura
    from htmldate import find_date

    extracted = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                            include_tables=False, deduplicate=False)
    text = getattr(extracted, "text", None) if extracted is not None else None
    if not text or not text.strip():
        raise errors.NoArticles(path, "no main article text found in the HTML page (is it an index page, "
                                      "a paywall or a truncated download?)")
    meta = extracted
    flags = []
    if "</html" not in html[-2000:].lower() and "</body" not in html[-4000:].lower():
        flags.append(Flag("truncated_html", "the page ends before </body></html>; text may be incomplete"))
    published = iso_date(find_date(html, original_date=True, extensive_search=False, url=url) or meta.date)
    return RawDoc(fmt, text, is_html=False, url=meta.url or url, title=meta.title, outlet=meta.sitename,
                  authors=_split_authors(meta.author), published=published, language=meta.language,
                  flags=flags, removed=_outside_main(html, text))


def visible_lines(html: str, blocks: frozenset | set = _PAGE_TAGS) -> list[str]:
    """The visible text of an HTML page or fragment, one element of ``blocks`` per line."""
    from lxml import etree, html as lhtml

    try:
        tree = lhtml.fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    for node in tree.xpath(_INVISIBLE):
        node.drop_tree()
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag.lower() in blocks:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    lines = (" ".join(ln.split()) for ln in tree.text_content().split("\n"))
    return [ln for ln in lines if ln]


def fragment_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed content, JSON body), a paragraph per line."""
    if "<" not in fragment or ">" not in fragment:
        return fragment
    return "\n\n".join(visible_lines(f"<div>{fragment}</div>", _BLOCK_TAGS))


def _outside_main(html: str, main_text: str, cap: int = 400) -> list[Removal]:
    """Page text trafilatura left out (navigation, ads, related links, footer)."""
    main = normalise(main_text)
    removed, seen = [], set()
    for line in visible_lines(html):
        key = normalise(line)
        if key and key not in main and key not in seen:
            seen.add(key)
            removed.append(Removal(line, "outside_main_content"))
        if len(removed) >= cap:
            removed.append(Removal(f"... further page text not listed (cap {cap})", "outside_main_content"))
            break
    return removed


def _declared_charset(data: bytes) -> Optional[str]:
    import re

    m = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", data[:4096], re.I)
    return m.group(1).decode("ascii", "ignore") if m else None


def _split_authors(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [_author_name(v) for v in value if _author_name(v)]
    if isinstance(value, dict):
        return [_author_name(value)] if _author_name(value) else []
    import re

    return [a.strip() for a in re.split(r";|,| and ", str(value)) if a.strip()]


def _author_name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "").strip()
    return str(value).strip()


# -- JSON and JSONL --------------------------------------------------------

def read_json(path: str, data: bytes, field_map: Optional[dict] = None, **_: Any) -> Yield:
    text, flags = decode(path, data)
    if not text.strip():
        raise errors.EmptyInput(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.MalformedInput(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    items = _json_items(value)
    if not items:
        raise errors.NoArticles(path, "the JSON holds no article objects (expected an object, a list of "
                                      "objects, or an object with an 'articles'/'items' list)")
    for n, item in enumerate(items):
        yield _json_entry(path, item, n, field_map, flags, "json")


def read_jsonl(path: str, data: bytes, field_map: Optional[dict] = None, **_: Any) -> Yield:
    text, flags = decode(path, data)
    if not text.strip():
        raise errors.EmptyInput(path)
    for n, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield errors.MalformedInput(f"{path}:{n + 1}", f"invalid JSON on line {n + 1}: {exc.msg}")
            continue
        yield _json_entry(f"{path}:{n + 1}", item, n, field_map, flags, "jsonl")


def _json_items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in load_data("json_fields.json")["_containers"]:
            if isinstance(value.get(key), list):
                return value[key]
        return [value]
    return []


def _json_entry(where: str, item: Any, n: int, field_map, flags, fmt) -> Union[RawDoc, errors.IngestError]:
    if not isinstance(item, dict):
        return errors.MalformedInput(where, f"entry {n} is a {type(item).__name__}, not an object")
    get = _field_getter(item, field_map or {})
    body = get("text")
    if not isinstance(body, str) or not body.strip():
        return errors.NoArticles(where, f"entry {n} has no text field (tried {', '.join(_fields('text'))}; "
                                        "use --map text=FIELD)")
    outlet = get("outlet")
    return RawDoc(fmt, fragment_text(body), entry=n, url=_str(get("url")), title=_str(get("title")),
                  outlet=_author_name(outlet) if isinstance(outlet, dict) else _str(outlet),
                  authors=_split_authors(get("authors")), published=iso_date(get("published")),
                  wire=_str(get("wire")), language=_str(get("language")), flags=list(flags))


def _fields(name: str) -> list[str]:
    return load_data("json_fields.json")[name]


def _field_getter(item: dict, field_map: dict):
    def get(name: str) -> Any:
        for path in ([field_map[name]] if name in field_map else _fields(name)):
            value = item
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value not in (None, "", []):
                return value
        return None
    return get


def _str(value: Any) -> Optional[str]:
    return None if value is None else str(value).strip() or None


# -- feeds -------------------------------------------------------------------

def read_feed(path: str, data: bytes, **_: Any) -> Yield:
    import feedparser

    parsed = feedparser.parse(data)
    if not parsed.entries:
        problem = f" ({parsed.bozo_exception})" if parsed.get("bozo") else ""
        raise errors.NoArticles(path, f"the feed has no entries{problem}")
    outlet = _str(parsed.feed.get("title"))
    for n, entry in enumerate(parsed.entries):
        yield _feed_entry(path, entry, n, outlet)


def _feed_entry(path: str, entry: Any, n: int, outlet: Optional[str]) -> Union[RawDoc, errors.IngestError]:
    flags = []
    if entry.get("content"):
        body = max((c.get("value", "") for c in entry.content), key=len)
    else:
        body = entry.get("summary", "")
        flags.append(Flag("feed_summary_only", "the feed carries only a summary, not the full article"))
    if not body.strip():
        return errors.NoArticles(f"{path}#{n}", f"feed entry {n} has no content or summary")
    published = struct_to_iso(entry.get("published_parsed") or entry.get("updated_parsed"))
    authors = [a.get("name") for a in entry.get("authors", []) if a.get("name")] or \
        _split_authors(entry.get("author"))
    return RawDoc("feed", fragment_text(body), entry=n, url=_str(entry.get("link")), title=_str(entry.get("title")),
                  outlet=outlet, authors=authors, published=published, flags=flags)


# -- WARC --------------------------------------------------------------------

def read_warc(path: str, data: bytes, max_bytes: int = 25_000_000, **_: Any) -> Yield:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    skipped: dict[str, int] = {}
    found = 0
    try:
        for record in ArchiveIterator(io.BytesIO(data)):
            kind = _warc_html_kind(record)
            if kind != "html":
                skipped[kind] = skipped.get(kind, 0) + 1
                continue
            yield _warc_entry(path, record, found, max_bytes)
            found += 1
    except ArchiveLoadFailed as exc:
        raise errors.MalformedInput(path, f"not a readable WARC archive: {exc}")
    if not found:
        what = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items())) or "no records"
        raise errors.NoArticles(path, f"the WARC holds no HTML responses ({what} skipped)")
    if skipped:
        yield errors.IngestError(path, "skipped " + ", ".join(f"{v} {k} record(s)" for k, v in sorted(skipped.items())))


def _warc_html_kind(record: Any) -> str:
    if record.rec_type != "response":
        return record.rec_type
    if record.http_headers is None:
        return "non-HTTP response"
    ctype = (record.http_headers.get_header("Content-Type") or "").lower()
    status = record.http_headers.get_statuscode()
    if status != "200":
        return f"HTTP {status}"
    return "html" if "html" in ctype else (ctype.split(";")[0] or "untyped")


def _warc_entry(path: str, record: Any, n: int, max_bytes: int) -> Union[RawDoc, errors.IngestError]:
    url = record.rec_headers.get_header("WARC-Target-URI")
    where = f"{path}#{url or n}"
    body = record.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return errors.InputTooLarge(where, len(body), max_bytes)
    ctype = record.http_headers.get_header("Content-Type") or ""
    charset = ctype.split("charset=")[-1].strip() if "charset=" in ctype else None
    try:
        html, flags = decode(where, body, charset)
        doc = html_document(where, html, url, fmt="warc")
    except errors.IngestError as exc:
        return exc
    doc.entry = n
    doc.flags = flags + doc.flags + [Flag("fetched", record.rec_headers.get_header("WARC-Date") or "")]
    return doc


READERS = {"text": read_text, "html": read_html, "json": read_json, "jsonl": read_jsonl,
           "feed": read_feed, "warc": read_warc}
