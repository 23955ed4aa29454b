"""Ingest articles from files, folders, globs or stdin into the store.

``ingest()`` never stops on a bad input: each file (or entry) gets an
``IngestOutcome`` with its status and reason, and the rest goes on.
"""
from __future__ import annotations

import datetime as dt
import glob
import os
import sys
import uuid
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Optional

from .. import errors
from ..records import Article, Flag, IngestOutcome, IngestReport, Removal, Source
from ..store import SQLiteStore
from .clean import clean_text
from .dates import iso_date
from .detect import check_binary, detect_format, identify_language
from .readers import READERS, RawDoc

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
    if executor is not None:
        from .parallel import ingest_archives, split_archives
        archives, paths = split_archives(paths)
        ingest_archives(archives, store, executor, report, field_map=field_map, max_bytes=int(max_mb * 1e6), at=_now)
    for path in _progress(paths, progress):
        for outcome in ingest_file(path, store, field_map=field_map, max_mb=max_mb, stdin=stdin):
            report.outcomes.append(outcome)
            store.log_outcome(report.run_id, outcome, _now())
    return report


def expand_inputs(inputs: Iterable[str], report: IngestReport) -> Iterator[str]:
    """Files, folders (recursive), globs and ``-`` (stdin), in a stable order."""
    for item in inputs:
        if item == "-":
            yield item
        elif os.path.isdir(item):
            yield from sorted(str(p) for p in Path(item).rglob("*") if _wanted(p))
        elif os.path.exists(item):
            yield item
        elif glob.has_magic(item) and (matches := sorted(glob.glob(item, recursive=True))):
            yield from (m for m in matches if os.path.isfile(m))
        else:
            report.outcomes.append(_failed(errors.InputNotFound(item)))


def _wanted(path: Path) -> bool:
    parts = set(path.parts)
    return path.is_file() and not parts & _SKIP_NAMES and not path.name.startswith(".") \
        and not path.name.endswith((".db", ".db-wal", ".db-shm"))


def ingest_file(path: str, store: SQLiteStore, *, field_map=None, max_mb=DEFAULT_MAX_MB,
                stdin: Optional[BinaryIO] = None) -> list[IngestOutcome]:
    """Ingest one file; every failure becomes an outcome, never an exception."""
    try:
        data = _read_bytes(path, max_mb, stdin)
        fmt = detect_format(path, data[:65536])
        if fmt not in _STREAMED and len(data) > max_mb * 1e6:
            raise errors.InputTooLarge(path, len(data), int(max_mb * 1e6))
        if fmt != "warc":
            check_binary(path, data)
        docs = READERS[fmt](path, data, field_map=field_map, max_bytes=int(max_mb * 1e6))
        return [_store_doc(path, doc, data, store) for doc in docs]
    except errors.IngestError as exc:
        return [_failed(exc)]
    except Exception as exc:  # a bug must not stop the batch; report it with its type
        return [_failed(errors.IngestError(path, f"internal error ({type(exc).__name__}: {exc}); "
                                                 "please report it with this file"))]


def _read_bytes(path: str, max_mb: float, stdin: Optional[BinaryIO]) -> bytes:
    if path == "-":
        data = (stdin or sys.stdin.buffer).read()
    else:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise errors.InputNotFound(path)
        except (IsADirectoryError, PermissionError) as exc:
            raise errors.IngestError(path, f"cannot read the file: {exc.strerror}")
    if not data.strip():
        raise errors.EmptyInput(path)
    return data


def _store_doc(path: str, doc, raw: bytes, store: SQLiteStore) -> IngestOutcome:
    if isinstance(doc, errors.IngestError):
        status = "skipped" if type(doc) is errors.IngestError else "failed"
        return IngestOutcome(doc.path, status, reason=doc.reason)
    try:
        article = build_article(path, doc)
    except errors.IngestError as exc:
        return IngestOutcome(exc.path, "failed", reason=exc.reason, entry=doc.entry)
    added = store.add_article(article, raw)
    return IngestOutcome(path, "added" if added else "present", article_id=article.id, entry=doc.entry,
                         reason=None if added else "already in the store (same text and outlet)")


def build_article(path: str, doc: RawDoc) -> Article:
    """Clean a raw document into an Article with a content-derived id."""
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
    if cleaned.published:
        return iso_date(cleaned.published) or cleaned.published, "text"
    return None, "unknown"


def _content_flags(text: str, language: str, declared: Optional[str]) -> list[Flag]:
    flags = []
    if language not in ("en", "und"):
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
