"""Guess an input's format, decode its bytes, and identify its language."""
from __future__ import annotations

import functools
import re
from typing import Optional

from charset_normalizer import from_bytes

from .. import errors
from ..records import Flag
from ..text import load_data, scrub_surrogates, words

FORMATS = ("text", "html", "json", "jsonl", "feed", "warc")
_EXTENSIONS = {
    ".txt": "text", ".text": "text", ".md": "text", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".rss": "feed", ".atom": "feed",
    ".xml": "feed", ".warc": "warc", ".warc.gz": "warc", ".arc.gz": "warc",
}
# Leading bytes of common binary files, so the error can name what was given.
_MAGIC = {b"%PDF": "a PDF document", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
          b"GIF8": "a GIF image", b"PK\x03\x04": "a ZIP archive (e.g. .docx)", b"\x7fELF": "a program",
          b"\xd0\xcf\x11\xe0": "an old Office document", b"SQLite format": "an SQLite database"}


def detect_format(name: str, head: bytes) -> str:
    """Return one of FORMATS from the file name, falling back on its first bytes."""
    lower = name.lower()
    for ext in sorted(_EXTENSIONS, key=len, reverse=True):
        if lower.endswith(ext):
            fmt = _EXTENSIONS[ext]
            return _sniff(head) if fmt == "feed" and ext == ".xml" else fmt
    return _sniff(head)


def _sniff(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b") or head.startswith(b"WARC/"):
        return "warc"
    sample = head[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sample.startswith((b"{", b"[")):
        first_line = sample.split(b"\n", 1)[0].strip()
        return "jsonl" if first_line.endswith(b"}") and b"\n{" in head[:65536] else "json"
    if b"<rss" in sample or b"<feed" in sample or b"<rdf:rdf" in sample:
        return "feed"
    if sample.startswith((b"<!doctype html", b"<html")) or b"<body" in sample or b"<p>" in sample:
        return "html"
    return "text"


# UTF-32 first: its little-endian BOM begins with UTF-16's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_XML_DECL_ENCODING = re.compile(r"""(<\?xml[^>]{0,200}?encoding\s*=\s*["'])[\w.:-]{1,40}(["'])""")


def wide_unicode(data: bytes) -> tuple[bytes, Optional[Flag]]:
    """UTF-16 or UTF-32 input (a BOM, or every other byte NUL in mostly-ASCII UTF-16 without
    one) as UTF-8 for the readers, with a flag naming the encoding; other bytes unchanged.
    Without this, a UTF-16 feed or page (Windows tools write them) was refused as binary."""
    encoding, start = _wide_encoding(data)
    if encoding is None:
        return data, None
    try:
        text = data[start:].decode(encoding)
    except UnicodeDecodeError:
        return data, None  # not what it seemed: the usual checks decide
    # An XML declaration naming UTF-16 would now be wrong about the bytes the parser gets.
    text = _XML_DECL_ENCODING.sub(r"\1UTF-8\2", text[:300], count=1) + text[300:]
    how = "BOM" if start else "detected"
    return text.encode("utf-8", "surrogatepass"), Flag("encoding", f"{encoding} ({how})")


def _wide_encoding(data: bytes) -> tuple[Optional[str], int]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    head = data[:512] if len(data) % 2 == 0 else b""
    if len(head) < 8:
        return None, 0
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    if odd > 0.9 * half and even == 0:
        return "utf-16-le", 0
    if even > 0.9 * half and odd == 0:
        return "utf-16-be", 0
    return None, 0


def check_binary(path: str, data: bytes) -> None:
    """Raise BinaryInput for bytes that are clearly not text."""
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise errors.BinaryInput(path, what)
    if b"\x00" in data[:8192]:
        raise errors.BinaryInput(path)


def decode(path: str, data: bytes, declared: Optional[str] = None) -> tuple[str, list[Flag]]:
    """Decode bytes to text; flag any encoding that is not clean UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    if (surrogates := _encoded_surrogates(data)) is not None:
        return surrogates
    if declared:
        try:
            return data.decode(declared), [Flag("encoding", f"{declared} (declared)")]
        except (LookupError, UnicodeDecodeError):
            pass
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    if bad <= max(2, len(data) // 500) and _has_multibyte_utf8(data):
        # Mostly valid UTF-8 with a few broken bytes: keep it, say so (raw bytes are stored).
        return lenient, [Flag("invalid_utf8", f"{bad} undecodable byte sequence(s) replaced with U+FFFD")]
    best = from_bytes(data).best()
    if best is None:
        raise errors.UndecodableInput(path)
    text, encoding = str(best), best.encoding
    if encoding != "cp1252" and _same_as_cp1252(data, text):
        encoding = "cp1252"  # the Western web default, when it reads the bytes identically
    return text, [Flag("encoding", f"{encoding} (detected)")]


def _encoded_surrogates(data: bytes) -> Optional[tuple[str, list[Flag]]]:
    """UTF-8 whose only fault is encoded lone surrogates (``\\xed\\xa0\\x80``, as Java and JavaScript
    serialisers write them), with each surrogate as U+FFFD; None for any other fault. Without
    this, one such sequence (three bad bytes) sent a short file to charset guessing: mojibake."""
    try:
        text = data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:
        return None
    bad = len(re.findall("[\ud800-\udfff]", text))
    flag = Flag("invalid_unicode", f"{bad} lone surrogate(s) encoded in the UTF-8 replaced with U+FFFD")
    return scrub_surrogates(text), [flag]


def _same_as_cp1252(data: bytes, text: str) -> bool:
    try:
        return data.decode("cp1252") == text
    except UnicodeDecodeError:
        return False


def _has_multibyte_utf8(data: bytes) -> bool:
    return re.search(rb"[\xc2-\xf4][\x80-\xbf]", data) is not None


@functools.lru_cache(maxsize=1)
def _stopwords() -> dict[str, frozenset[str]]:
    data = load_data("stopwords.json")
    return {lang: frozenset(ws) for lang, ws in data.items() if not lang.startswith("_")}


def identify_language(text: str, sample_words: int = 400) -> str:
    """Return an ISO 639-1 code by stopword share, or ``und`` when unsure."""
    toks = words(text[:6000])[:sample_words]
    if len(toks) < 5:
        return "und"
    scores = {lang: sum(t in sw for t in toks) / len(toks) for lang, sw in _stopwords().items()}
    lang, best = max(scores.items(), key=lambda kv: kv[1])
    return lang if best >= 0.08 else "und"
