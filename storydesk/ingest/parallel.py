"""WARC archives on an executor: many large files read in parallel, streamed, resumable.

1. ``index_warc`` (on a worker) walks one file's records, decompressing only, and returns
   each HTML response's byte offset, length and key (WARC-Record-ID + content digest).
2. The client drops keys the store already holds (a re-run, or the same record in two
   files), and cuts the rest into batches of nearby records.
3. ``parse_warc_batch`` (on a worker) seeks to each record, reads only it, and cleans it
   into an Article with the same readers as the serial path.
4. The client writes each batch in one transaction with the records' keys, so a killed
   run resumes at the first unwritten batch and nothing is written twice.

Workers read the files themselves: on a real cluster they must see the same paths
(a shared filesystem); see docs/scale.md.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Iterator, Optional

from .. import errors
from ..records import Article, IngestedRecord, IngestOutcome, IngestReport, content_id
from .detect import detect_format

BATCH_RECORDS = 32  # records per task: large enough to amortise scheduling, small enough to balance


@dataclass
class WarcEntry:
    """Where one HTML response sits in its file."""

    offset: int
    length: int
    key: str
    entry: int  # index among the file's HTML responses, as the serial reader numbers them


@dataclass
class WarcIndex:
    path: str
    entries: list[WarcEntry] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # non-HTML records by kind
    error: Optional[IngestOutcome] = None


@dataclass
class WarcTask:
    path: str
    entries: list[WarcEntry]
    field_map: Optional[dict] = None
    max_bytes: int = 25_000_000


@dataclass
class ParsedRecord:
    """One record's result from a worker: an article with its raw bytes, or why not."""

    outcome: IngestOutcome
    key: str
    article: Optional[Article] = None
    raw: Optional[bytes] = None


def split_archives(paths: list[str]) -> tuple[list[str], list[str]]:
    """(WARC files, everything else), by name and first bytes."""
    archives, rest = [], []
    for path in paths:
        (archives if path != "-" and _is_warc(path) else rest).append(path)
    return archives, rest


def _is_warc(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return detect_format(path, f.read(16)) == "warc"
    except OSError:
        return False  # the serial path reports it


def ingest_archives(paths: list[str], store, executor, report: IngestReport, *, field_map=None,
                    max_bytes: int = 25_000_000, batch: int = BATCH_RECORDS, at=None) -> None:
    """Ingest WARC files through ``executor``; append every outcome to ``report``."""
    tasks = _plan(executor.map(index_warc, paths), store, report, field_map, max_bytes, batch, at)
    for parsed in executor.map(parse_warc_batch, tasks):
        _write(parsed, store, report, at)


def _plan(indexes: Iterator[WarcIndex], store, report, field_map, max_bytes, batch, at) -> Iterator[WarcTask]:
    for index in indexes:
        outcomes = _file_outcomes(index)
        if index.entries:
            done = store.ingested([e.key for e in index.entries])
            fresh = [e for e in index.entries if e.key not in done]
            outcomes += [IngestOutcome(index.path, "present", article_id=done[e.key].article_id, entry=e.entry,
                                       reason="already ingested from this WARC record")
                         for e in index.entries if e.key in done]
            for start in range(0, len(fresh), batch):
                yield WarcTask(index.path, fresh[start:start + batch], field_map, max_bytes)
        _log(store, report, outcomes, at)


def _file_outcomes(index: WarcIndex) -> list[IngestOutcome]:
    if index.error is not None:
        return [index.error]
    if not index.entries:
        what = ", ".join(f"{v} {k}" for k, v in sorted(index.skipped.items())) or "no records"
        return [IngestOutcome(index.path, "failed", reason=f"the WARC holds no HTML responses ({what} skipped)")]
    if index.skipped:
        what = ", ".join(f"{v} {k} record(s)" for k, v in sorted(index.skipped.items()))
        return [IngestOutcome(index.path, "skipped", reason="skipped " + what)]
    return []


def _write(parsed: list[ParsedRecord], store, report: IngestReport, at) -> None:
    """One batch, one transaction: the articles and the keys of the records they came from."""
    stored = [p for p in parsed if p.article is not None]
    marks = [IngestedRecord(p.key, p.outcome.path, p.article.id, p.outcome.entry) for p in stored]
    added = store.add_articles([(p.article, p.raw) for p in stored], marks)
    for p, new in zip(stored, added):
        p.outcome.status = "added" if new else "present"
        p.outcome.reason = None if new else "already in the store (same text and outlet)"
    _log(store, report, [p.outcome for p in parsed], at)


def _log(store, report: IngestReport, outcomes: list[IngestOutcome], at) -> None:
    if outcomes:
        report.outcomes.extend(outcomes)
        store.log_outcomes(report.run_id, outcomes, at())


# -- on the workers -----------------------------------------------------------------
def index_warc(path: str) -> WarcIndex:
    """Walk one WARC file (decompressing only) and locate its HTML responses."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    from .readers import _warc_html_kind

    index = WarcIndex(path)
    try:
        with open(path, "rb") as f:
            records = ArchiveIterator(f)
            for record in records:
                kind = _warc_html_kind(record)
                headers = record.rec_headers
                records.read_to_end(record)
                offset, length = records.get_record_offset(), records.get_record_length()
                if kind != "html":
                    index.skipped[kind] = index.skipped.get(kind, 0) + 1
                    continue
                digest = headers.get_header("WARC-Payload-Digest") or headers.get_header("WARC-Block-Digest") \
                    or _digest_of(path, offset, length)
                key = content_id("w", headers.get_header("WARC-Record-ID") or "", digest, length=24)
                index.entries.append(WarcEntry(offset, length, key, len(index.entries)))
    except (ArchiveLoadFailed, OSError, ValueError) as exc:  # a broken file fails alone
        index.error = IngestOutcome(path, "failed", reason=f"not a readable WARC archive: {exc}")
    return index


def _digest_of(path: str, offset: int, length: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return hashlib.sha1(f.read(length)).hexdigest()


def parse_warc_batch(task: WarcTask) -> list[ParsedRecord]:
    """Read and clean the batch's records (each on its own: one bad record fails alone)."""
    out = []
    with open(task.path, "rb") as f:
        for entry in task.entries:
            f.seek(entry.offset)
            out.append(_parse_record(task, entry, f.read(entry.length)))
    return out


def _parse_record(task: WarcTask, entry: WarcEntry, chunk: bytes) -> ParsedRecord:
    from warcio.archiveiterator import ArchiveIterator

    from . import build_article
    from .readers import _warc_entry

    def failed(path, reason, status="failed"):
        return ParsedRecord(IngestOutcome(path, status, reason=reason, entry=entry.entry), entry.key)

    try:
        record = next(iter(ArchiveIterator(io.BytesIO(chunk))))
        doc = _warc_entry(task.path, record, entry.entry, task.max_bytes)
        if isinstance(doc, errors.IngestError):
            return failed(doc.path, doc.reason, "skipped" if type(doc) is errors.IngestError else "failed")
        article = build_article(task.path, doc)
    except errors.IngestError as exc:
        return failed(exc.path, exc.reason)
    except Exception as exc:  # a bug must not stop the batch; report it with its type
        return failed(f"{task.path}#{entry.entry}", f"internal error ({type(exc).__name__}: {exc}); "
                                                    "please report it with this file")
    outcome = IngestOutcome(task.path, "added", article_id=article.id, entry=entry.entry)
    return ParsedRecord(outcome, entry.key, article, chunk)
