"""Readers: turn one input file's bytes into raw documents.

A reader yields ``RawDoc`` objects, or ``IngestError`` objects for single
entries that fail (a bad JSONL line), so the rest of the file still goes in.
Whole-file failures raise an ``IngestError``.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Union

from .. import errors
from ..records import Flag, Removal
from ..text import load_data, normalise, scrub_surrogates
from .dates import iso_date, struct_to_iso, year_in_text
from .detect import decode

_BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th",
               "section", "article", "aside", "nav", "header", "footer", "figure", "figcaption", "blockquote",
               "pre", "table", "form", "button", "dd", "dt", "main", "address"}
# On a whole page, links and spans in menus are separate pieces of chrome; inside article text they are inline.
_PAGE_TAGS = _BLOCK_TAGS | {"a", "span", "time", "label"}
_INVISIBLE = "//script|//style|//noscript|//template|//svg|//head|//iframe|//object"
# Characters XML (and so lxml) refuses: C0 controls other than tab/newline/CR, lone surrogates,
# U+FFFE/U+FFFF; also numeric references to them ("&#11;"). One form feed must not lose a page.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
MAX_JSON_DEPTH = 200


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


def scrub_doc(doc: RawDoc) -> RawDoc:
    """Every string of ``doc`` storable: lone surrogates become U+FFFD, and the article says so."""
    fields = ("body", "url", "title", "outlet", "published", "wire", "language")
    values = {f: getattr(doc, f) for f in fields}
    bad = [f for f, v in values.items() if isinstance(v, str) and v != scrub_surrogates(v)]
    bad += ["authors"] if any(a != scrub_surrogates(a) for a in doc.authors) else []
    if not bad:
        return doc
    for f in fields:
        if isinstance(values[f], str):
            setattr(doc, f, scrub_surrogates(values[f]))
    doc.authors = [scrub_surrogates(a) for a in doc.authors]
    doc.flags = doc.flags + [Flag("invalid_unicode", f"lone surrogate escapes in {', '.join(bad)} replaced "
                                                     "with U+FFFD")]
    return doc


def read_text(path: str, data: bytes, **_: Any) -> Yield:
    text, flags = decode(path, data)
    if not text.strip():
        raise errors.EmptyInput(path)
    yield RawDoc("text", text, flags=flags)


def xml_safe(html: str) -> str:
    """``html`` with every character XML cannot hold (raw or as ``&#NN;``) turned into a space."""
    return _NOT_XML.sub(" ", _CHAR_REF.sub(_char_ref, html)) if _NOT_XML.search(html) or "&#" in html else html


def _char_ref(m: re.Match) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    bad = code > 0x10FFFF or (code < 32 and code not in (9, 10, 13)) or 0xD800 <= code <= 0xDFFF \
        or code in (0xFFFE, 0xFFFF)
    return " " if bad else m.group()


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

    html = xml_safe(html)
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
    found = find_date(html, original_date=True, extensive_search=False, url=url) or meta.date
    return RawDoc(fmt, text, is_html=False, url=meta.url or url, title=meta.title, outlet=meta.sitename,
                  authors=_split_authors(meta.author), published=iso_date(found), language=meta.language,
                  flags=flags + _date_flag(found), removed=_outside_main(html, text))


def visible_lines(html: str, blocks: frozenset | set = _PAGE_TAGS) -> list[str]:
    """The visible text of an HTML page or fragment, one element of ``blocks`` per line."""
    from lxml import etree, html as lhtml

    try:
        tree = lhtml.fromstring(xml_safe(html))
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
        value = load_json(path, text)
    except json.JSONDecodeError as exc:
        raise errors.MalformedInput(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    items = _json_items(value)
    if not items:
        raise errors.NoArticles(path, "the JSON holds no article objects (expected an object, a list of "
                                      "objects, or an object with an 'articles'/'items' list)")
    for n, item in enumerate(items):
        yield guarded(f"{path}#{n}", _json_entry, path, item, n, field_map, flags, "json")


def read_jsonl(path: str, data: bytes, field_map: Optional[dict] = None, max_bytes: int = 25_000_000,
               **_: Any) -> Yield:
    """One entry per line; a bad line (or one over the size limit) fails alone."""
    text, flags = decode(path, data)
    if not text.strip():
        raise errors.EmptyInput(path)
    # Only "\n" ends a line: str.splitlines() would also split at U+2028 or \x85 inside a JSON string.
    for n, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        yield guarded(f"{path}:{n + 1}", _jsonl_line, f"{path}:{n + 1}", line, n, field_map, flags, max_bytes)


def _jsonl_line(where: str, line: str, n: int, field_map, flags, max_bytes: int):
    if len(line) > max_bytes:
        return errors.RecordTooLarge(where, len(line.encode("utf-8", "surrogatepass")), max_bytes, f"line {n + 1}")
    try:
        item = load_json(where, line)
    except json.JSONDecodeError as exc:
        return errors.MalformedInput(where, f"invalid JSON on line {n + 1}: {exc.msg}")
    return _json_entry(where, item, n, field_map, flags, "jsonl")


def load_json(path: str, text: str) -> Any:
    """``json.loads`` that refuses absurd nesting and reads huge integers as infinity, by name."""
    if _nesting_over(text, MAX_JSON_DEPTH):
        raise errors.TooDeep(path, MAX_JSON_DEPTH)
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise errors.TooDeep(path, MAX_JSON_DEPTH) from None


def _parse_int(digits: str) -> Any:
    # Past 4,300 digits int() raises; no article field needs such a number (dates become unknown).
    return int(digits) if len(digits) <= 100 else float("inf") if digits[0] != "-" else float("-inf")


_OPENERS = re.compile(r"[\[{]{%d}" % 64)


def _nesting_over(text: str, limit: int) -> bool:
    """Cheap pre-check: only a text with a long run of brackets can be nested that deep."""
    if not _OPENERS.search(text):
        return False
    depth = 0
    for ch in re.findall(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        if ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def guarded(where: str, make, *args) -> Union[RawDoc, errors.IngestError]:
    """Run one entry's reader; whatever goes wrong stays with that entry."""
    try:
        return make(*args)
    except errors.IngestError as exc:
        return exc
    except RecursionError:
        return errors.TooDeep(where, MAX_JSON_DEPTH)
    except Exception as exc:  # a bug: this entry fails with its type, the rest of the file goes on
        return errors.InternalError(where, exc)


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
    outlet, published = get("outlet"), get("published")
    return RawDoc(fmt, fragment_text(body), entry=n, url=_str(get("url")), title=_str(get("title")),
                  outlet=_author_name(outlet) if isinstance(outlet, dict) else _str(outlet),
                  authors=_split_authors(get("authors")), published=iso_date(published),
                  wire=_str(get("wire")), language=_str(get("language")), flags=list(flags) + _date_flag(published))


def _date_flag(value: Any) -> list[Flag]:
    """An unreadable publication date becomes unknown, and says so."""
    if value in (None, "", []) or iso_date(value) is not None:
        return []
    return [Flag("unreadable_date", f"publication date {_short(value)} is not a possible date; "
                                    "treated as unknown")]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else type(value).__name__ if not isinstance(value, (int, float)) \
        else (f"{value:.3g}" if isinstance(value, float) or abs(value) > 10 ** 15 else str(value))
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


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
    if value is None or isinstance(value, (dict, list)):
        return None
    try:
        return str(value).strip() or None
    except ValueError:  # an integer too long to print
        return None


# -- feeds -------------------------------------------------------------------

def read_feed(path: str, data: bytes, **_: Any) -> Yield:
    import feedparser

    text, flags = decode(path, data, _xml_encoding(data))
    try:
        # Our decoding, not feedparser's: on one invalid UTF-8 sequence feedparser reads the whole
        # feed as windows-1252 (every accent garbled). xml_safe: one "&#xD800;" made it fail the
        # whole feed. A stream, not bytes: feedparser opens bytes that name a file (or /dev/zero).
        parsed = feedparser.parse(io.BytesIO(xml_safe(text).encode("utf-8")),
                                  response_headers={"content-type": "application/xml; charset=utf-8"})
    except (ValueError, OverflowError, UnicodeError) as exc:  # e.g. &#1114112;: feedparser's chr() fails
        raise errors.MalformedInput(path, f"the feed cannot be parsed ({type(exc).__name__}: {exc})") from exc
    if not parsed.entries:
        problem = f" ({parsed.bozo_exception})" if parsed.get("bozo") else ""
        raise errors.NoArticles(path, f"the feed has no entries{problem}")
    outlet = _str(parsed.feed.get("title"))
    for n, entry in enumerate(parsed.entries):
        yield guarded(f"{path}#{n}", _feed_entry, path, entry, n, outlet, flags)


_XML_ENCODING = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([\w.:-]{1,40})["']""")


def _xml_encoding(data: bytes) -> Optional[str]:
    """The encoding an XML declaration names, if any (``decode`` tries it when UTF-8 fails)."""
    m = _XML_ENCODING.match(data.lstrip(b"\xef\xbb\xbf \t\r\n")[:300])
    return m.group(1).decode("ascii") if m else None


def _feed_entry(path: str, entry: Any, n: int, outlet: Optional[str],
                file_flags: list[Flag]) -> Union[RawDoc, errors.IngestError]:
    flags = list(file_flags)
    contents = [c.get("value") or "" for c in entry.get("content") or [] if hasattr(c, "get")]
    if any(c.strip() for c in contents):
        body = max(contents, key=len)
    else:
        body = entry.get("summary") or ""
        flags.append(Flag("feed_summary_only", "the feed carries only a summary, not the full article"))
    if not body.strip():
        return errors.NoArticles(f"{path}#{n}", f"feed entry {n} has no content or summary")
    parsed_date = entry.get("published_parsed") or entry.get("updated_parsed")
    raw_date = entry.get("published") or entry.get("updated")
    published = struct_to_iso(parsed_date)
    if published and isinstance(raw_date, str) and not year_in_text(int(published[:4]), raw_date):
        published = None  # feedparser read "-0001-01-01" as 2000-01-01: a guess, not the feed's date
    if published is None and (parsed_date or raw_date):
        flags.append(Flag("unreadable_date", f"publication date {_short(raw_date or '?')} is not a possible "
                                             "date; treated as unknown"))
    authors = [a.get("name") for a in entry.get("authors", []) if a.get("name")] or \
        _split_authors(entry.get("author"))
    return RawDoc("feed", fragment_text(body), entry=n, url=_str(entry.get("link")), title=_str(entry.get("title")),
                  outlet=outlet, authors=authors, published=published, flags=flags)


# -- WARC --------------------------------------------------------------------

def read_warc(path: str, data: bytes, max_bytes: int = 25_000_000, **_: Any) -> Yield:
    """HTML responses of a WARC; each record fails alone; reading stops at a corrupt record
    or one over the size limit (skipping it would mean inflating all of it)."""
    skipped: dict[str, int] = {}
    found = 0
    for n, record in _warc_records(path, data):
        if isinstance(record, errors.IngestError):
            if not found and not skipped:
                raise record
            yield record
            break
        kind = guarded(f"{path}#record{n}", _warc_html_kind, record)
        if isinstance(kind, errors.IngestError):
            yield kind
            continue
        if kind != "html":
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        doc = guarded(f"{path}#record{n}", _warc_entry, path, record, found, max_bytes)
        found += 1
        yield doc
        if isinstance(doc, errors.RecordTooLarge):
            yield errors.MalformedInput(f"{path}#record{n + 1}", "records after an oversized record are not "
                                        "read (skipping it would mean inflating all of it); raise --max-mb")
            break
    if not found:
        what = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items())) or "no records"
        raise errors.NoArticles(path, f"the WARC holds no HTML responses ({what} skipped)")
    if skipped:
        yield errors.IngestError(path, "skipped " + ", ".join(f"{v} {k} record(s)" for k, v in sorted(skipped.items())))


def _warc_records(path: str, data: bytes):
    """(n, record) pairs; a broken archive ends with one (n, MalformedInput)."""
    from warcio.archiveiterator import ArchiveIterator

    records = iter(ArchiveIterator(io.BytesIO(data)))
    n = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as exc:  # warcio fails in many ways on a truncated or corrupt header
            what = "not a readable WARC archive" if n == 0 else f"the archive is truncated or corrupt at record {n}"
            yield n, errors.MalformedInput(path if n == 0 else f"{path}#record{n}",
                                           f"{what} ({type(exc).__name__}: {str(exc)[:200]})")
            return
        yield n, record
        n += 1


def _warc_html_kind(record: Any) -> str:
    if record.rec_type != "response":
        # A record without a WARC-Type header has rec_type None; the kinds are sorted for the summary.
        return record.rec_type or "untyped WARC"
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
    declared = record.rec_headers.get_header("Content-Length") or ""
    if declared.isdigit() and int(declared) > max_bytes + 65536:  # refused before inflating a byte of it
        return errors.RecordTooLarge(where, int(declared), max_bytes, "the WARC record")
    body = record.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return errors.RecordTooLarge(where, len(body), max_bytes, "the WARC record")
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
