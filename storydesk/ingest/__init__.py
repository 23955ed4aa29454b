"""Ingest articles from files, folders, globs or stdin into the store.

``ingest()`` never stops on a bad input: each file (or entry) gets an
``IngestOutcome`` with its status and reason, and the rest goes on.
"""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Optional

from .. import errors
from ..records import Article, Flag, IngestOutcome, IngestReport, Removal, Source, is_english
from ..store import SQLiteStore
from .clean import clean_text
from .dates import iso_date
from .detect import check_binary, detect_format, identify_language, wide_unicode
from ..text import scrub_surrogates
from .readers import READERS, RawDoc, scrub_doc

DEFAULT_MAX_MB = 25
MIN_WORDS = 5  # below this a "text" is a menu item or a stray label, not an article
_SKIP_NAMES = {".git", ".venv", "__pycache__", "node_modules"}
_STREAMED = {"warc", "jsonl"}  # archives hold many articles: size limits apply per record


def ingest(inputs: Iterable[str], store: SQLiteStore, *, field_map: Optional[dict] = None,
           max_mb: float = DEFAULT_MAX_MB, stdin: Optional[BinaryIO] = None,
           progress: bool = False, executor=None) -> IngestReport:
    """Ingest every input and return what happened to each.

    With an ``executor`` (``storydesk.cluster``), WARC files are read in parallel on it."""
    report = IngestReport(run_id=uuid.uuid4().hex[:12])
    paths = list(expand_inputs(inputs, report))
    for outcome in report.outcomes:  # inputs that were not found or folders that could not be read
        store.log_outcome(report.run_id, outcome, _now())
    if executor is not None:
        from .parallel import ingest_archives, split_archives
        archives, paths = split_archives(paths)
        ingest_archives(archives, store, executor, report, field_map=field_map, max_bytes=int(max_mb * 1e6), at=_now)
    for path in _progress(paths, progress):
        for outcome in iter_ingest_file(path, store, field_map=field_map, max_mb=max_mb, stdin=stdin):
            report.outcomes.append(outcome)
            store.log_outcome(report.run_id, outcome, _now())
    return report


def expand_inputs(inputs: Iterable[str], report: IngestReport) -> Iterator[str]:
    """Files, folders (recursive), globs and ``-`` (stdin), in a stable order.

    Symbolic links to folders are not followed (a link loop would never end); folders that
    cannot be read are reported as failed inputs, not skipped in silence.
    """
    for item in inputs:
        if item == "-":
            yield item
        elif os.path.isdir(item):
            yield from sorted(_walk(item, report))
        elif os.path.exists(item):
            yield item
        elif glob.has_magic(item) and (matches := sorted(_glob(item, report))):
            yield from matches
        else:
            report.outcomes.append(_failed(errors.InputNotFound(safe_path(item))))


def _walk(root: str, report: IngestReport) -> Iterator[str]:
    def unreadable(exc: OSError) -> None:
        report.outcomes.append(_failed(errors.IngestError(safe_path(exc.filename or root),
                                                          f"cannot read the folder: {exc.strerror}; "
                                                          "its files were not ingested")))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        dirs[:] = [d for d in dirs if d not in _SKIP_NAMES]
        for name in files:
            full = os.path.join(folder, name)
            if _wanted(name) and os.path.isfile(full):
                yield full


def _glob(pattern: str, report: IngestReport) -> Iterator[str]:
    """Files matching ``pattern``; ``**`` walks folders without following links."""
    if "**" not in pattern:
        yield from (m for m in glob.glob(pattern) if os.path.isfile(m))
        return
    parts = pattern.split(os.sep)
    fixed = next(i for i, p in enumerate(parts) if glob.has_magic(p))
    root = os.sep.join(parts[:fixed]) or ("." if not pattern.startswith(os.sep) else os.sep)
    rest = parts[fixed:]
    for full in _walk(root, report) if os.path.isdir(root) else ():
        rel = os.path.relpath(full, root).split(os.sep)
        if _match_parts(rest, rel):
            yield full


def _match_parts(pat: list[str], parts: list[str]) -> bool:
    """Glob match of path components, where ``**`` stands for any number of them."""
    import fnmatch
    import functools

    @functools.lru_cache(maxsize=None)
    def match(i: int, j: int) -> bool:
        if i == len(pat):
            return j == len(parts)
        if pat[i] == "**":
            return match(i + 1, j) or (j < len(parts) and match(i, j + 1))
        return j < len(parts) and fnmatch.fnmatchcase(parts[j], pat[i]) and match(i + 1, j + 1)
    return match(0, 0)


def _wanted(name: str) -> bool:
    return not name.startswith(".") and not name.endswith((".db", ".db-wal", ".db-shm"))


def ingest_file(path: str, store: SQLiteStore, *, field_map=None, max_mb=DEFAULT_MAX_MB,
                stdin: Optional[BinaryIO] = None) -> list[IngestOutcome]:
    """Ingest one file; every failure becomes an outcome, never an exception."""
    return list(iter_ingest_file(path, store, field_map=field_map, max_mb=max_mb, stdin=stdin))


def iter_ingest_file(path: str, store: SQLiteStore, *, field_map=None, max_mb=DEFAULT_MAX_MB,
                     stdin: Optional[BinaryIO] = None) -> Iterator[IngestOutcome]:
    """Outcomes of one file as its entries are stored; a failure never ends the batch, and a
    failure inside an archive keeps what was read before it."""
    shown = safe_path(path)
    try:
        given = _read_bytes(path, max_mb, stdin, shown)
        data, wide = wide_unicode(given)  # the readers get UTF-8; the store keeps the bytes given
        fmt = detect_format(path, data[:65536])
        if fmt not in _STREAMED and len(data) > max_mb * 1e6:
            raise errors.InputTooLarge(shown, len(data), int(max_mb * 1e6))
        if fmt != "warc":
            check_binary(shown, data)
        raw = RawInput(given)
        for doc in READERS[fmt](shown, data, field_map=field_map, max_bytes=int(max_mb * 1e6)):
            if wide is not None and isinstance(doc, RawDoc):
                doc.flags.append(wide)
            yield _store_doc(shown, doc, raw, store)
    except errors.IngestError as exc:
        yield _failed(exc)
    except Exception as exc:  # a bug must not stop the batch; report it with its type
        yield _failed(errors.InternalError(shown, exc))


class RawInput:
    """An input file's bytes, hashed once however many articles point at them."""

    def __init__(self, data: bytes):
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()


def safe_path(path: str) -> str:
    """A path as text that can be stored and printed (undecodable bytes become U+FFFD)."""
    return scrub_surrogates(path)


def _read_bytes(path: str, max_mb: float, stdin: Optional[BinaryIO], shown: str) -> bytes:
    if path == "-":
        data = (stdin or sys.stdin.buffer).read()
    else:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise errors.InputNotFound(shown)
        except OSError as exc:
            raise errors.IngestError(shown, f"cannot read the file: {exc.strerror}")
    if not data.strip():
        raise errors.EmptyInput(shown)
    return data


def _store_doc(path: str, doc, raw: RawInput, store: SQLiteStore) -> IngestOutcome:
    if isinstance(doc, errors.IngestError):
        status = "skipped" if type(doc) is errors.IngestError else "failed"
        return IngestOutcome(doc.path, status, reason=doc.reason)
    try:
        article = build_article(path, doc)
        added = store.add_article(article, raw.data, raw_sha256=raw.sha256)
    except errors.IngestError as exc:
        return IngestOutcome(exc.path, "failed", reason=exc.reason, entry=doc.entry)
    except (errors.StoreError, sqlite3.OperationalError):
        raise  # the store itself is failing (disk full, locked): not this entry's fault
    except Exception as exc:  # a bug met this entry: it fails alone
        err = errors.InternalError(_where(path, doc), exc)
        return IngestOutcome(err.path, "failed", reason=err.reason, entry=doc.entry)
    return IngestOutcome(path, "added" if added else "present", article_id=article.id, entry=doc.entry,
                         reason=None if added else "already in the store (same text and outlet)")


def build_article(path: str, doc: RawDoc) -> Article:
    """Clean a raw document into an Article with a content-derived id."""
    doc = scrub_doc(doc)
    cleaned = clean_text(doc.body, find_title=doc.title is None)
    removed = doc.removed + cleaned.removed
    text = _drop_leading_title(cleaned, doc.title, removed)
    if len(text.split()) < MIN_WORDS:
        raise errors.NoArticles(_where(path, doc), f"only {len(text.split())} word(s) of article text left "
                                                   "after removing boilerplate; not an article")
    outlet = doc.outlet or cleaned.outlet
    published, basis = _published(doc, cleaned)
    language = identify_language(text)
    flags = list(doc.flags) + _content_flags(text, language, doc.language)
    if basis == "unknown" and cleaned.published and not doc.published:
        flags.append(Flag("unreadable_date", f"date line {cleaned.published[:40]!r} is not a possible date; "
                                             "treated as unknown"))
    source = Source(format=doc.format, path=None if path == "-" else path, url=doc.url, entry=doc.entry)
    return Article(id=Article.make_id(text, outlet), source=source, text=text, title=doc.title or cleaned.title,
                   outlet=outlet, authors=doc.authors or cleaned.authors, wire=doc.wire or cleaned.wire,
                   published=published, published_basis=basis, language=language, removed=removed, flags=flags)


def _drop_leading_title(cleaned, title: Optional[str], removed: list) -> str:
    """HTML extraction repeats the headline as the first line; keep it as metadata only."""
    first, _, rest = cleaned.text.partition("\n\n")
    if title and rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        removed.append(Removal(first, "title"))
        return rest
    return cleaned.text


def _published(doc: RawDoc, cleaned) -> tuple[Optional[str], str]:
    if doc.published:
        return doc.published, "metadata"
    if cleaned.published and (found := iso_date(cleaned.published)):
        return found, "text"
    return None, "unknown"  # an unreadable date line is flagged, never stored as the date


def _content_flags(text: str, language: str, declared: Optional[str]) -> list[Flag]:
    flags = []
    if not is_english(language):
        flags.append(Flag("non_english", f"language identified as {language!r}; English-only stages skip it"))
    elif language == "und":
        flags.append(Flag("language_unknown", "too little text to identify the language"))
    if len(text.split()) < 50:
        flags.append(Flag("very_short", f"{len(text.split())} words"))
    return flags


def _where(path: str, doc: RawDoc) -> str:
    return path if doc.entry is None else f"{path}#{doc.entry}"


def _failed(exc: errors.IngestError) -> IngestOutcome:
    return IngestOutcome(exc.path, "failed", reason=exc.reason)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _progress(paths: list[str], enabled: bool):
    if not enabled or len(paths) < 2:
        return paths
    from tqdm import tqdm
    return tqdm(paths, unit="file", file=sys.stderr, desc="ingest")
