"""The article store: a small interface, SQLite behind it.

Schema changes are numbered SQL files in ``storydesk/migrations``; the
database's ``user_version`` says which have been applied.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator, Optional, Type, TypeVar

from .errors import CorruptStore, NotAStore, NotFound, ReadOnlyStore, SchemaTooNew, StoreError
from .records import Article, IngestedRecord, IngestOutcome, Record
from .text import scrub_surrogates

APPLICATION_ID = 0x53544459  # "STDY", set by migration 003: tells our stores from other SQLite files

R = TypeVar("R", bound=Record)


def migrations() -> list[tuple[int, str]]:
    """Return ``(number, sql)`` for every migration file, in order."""
    found = []
    for entry in resources.files("storydesk.migrations").iterdir():
        if entry.name.endswith(".sql") and entry.name[:3].isdigit():
            found.append((int(entry.name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def open_store(target: str) -> "SQLiteStore":
    """Open the store ``target`` names: a ``postgresql://`` URL (PGStore) or a SQLite path."""
    from .pgstore import PGStore, is_pg_url

    return PGStore(target) if is_pg_url(target) else SQLiteStore(target)


class Store:
    """What the pipeline needs from storage. SQLiteStore is the default."""

    def add_article(self, article: Article, raw: Optional[bytes]) -> bool: ...
    def get_article(self, article_id: str) -> Article: ...
    def articles(self, ids: Optional[Iterable[str]] = None) -> list[Article]: ...
    def put_records(self, kind: str, records: Iterable[Record], story_id=None) -> None: ...
    def get_records(self, kind: str, cls: Type[R], story_id=None) -> list[R]: ...


class SQLiteStore(Store):
    """SQLite (WAL) store. Every write is one transaction, so a killed
    ingest leaves whole articles or none, and re-running it finishes the job."""

    def __init__(self, path: str = "storydesk.db"):
        self.path = path
        self._raw_stored: set[str] = set()
        _check_path(path)
        try:
            if path != ":memory:" and not path.startswith("file:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise _named_store_error(path, exc) from exc
        try:
            self.db.execute("PRAGMA foreign_keys=ON")
            self._check_ours()
            self._set_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            self.db.close()
            raise _named_store_error(path, exc) from exc
        except StoreError:
            self.db.close()
            raise

    def _set_wal(self) -> None:
        """Switch to WAL; the switch ignores the busy timeout, so another process creating the same
        new store at that instant makes it fail with "locked": wait and try again."""
        import time

        for attempt in range(300):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 299:
                    raise
                time.sleep(0.1)

    def _check_ours(self) -> None:
        """Refuse another program's SQLite database rather than add tables to it."""
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise NotAStore(self.path, f"it is the SQLite database of another program (application id {app_id})")
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "articles" not in tables:
            shown = ", ".join(sorted(tables)[:5])
            raise NotAStore(self.path, f"it is an SQLite database of another program (tables: {shown})")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Apply pending migrations under one exclusive lock: two processes opening a new store at
        once both wait for it, and the second finds the work done (it reads the version inside)."""
        known = migrations()
        if known and self.schema_version == known[-1][0]:
            return
        self.db.execute("BEGIN EXCLUSIVE")
        try:
            current = self.schema_version
            if known and current > known[-1][0]:
                raise SchemaTooNew(self.path, current, known[-1][0])
            for number, sql in known:
                if number > current:
                    for statement in _split_sql(sql):
                        self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version={number}")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block atomically (nested calls join the outer transaction)."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- articles -------------------------------------------------------
    def has_article(self, article_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM articles WHERE id=?", (article_id,)).fetchone()
        return row is not None

    def add_article(self, article: Article, raw: Optional[bytes] = None, raw_sha256: Optional[str] = None) -> bool:
        """Store the article (and its raw bytes); return False if already present.

        The articles of one input file share its raw bytes: pass ``raw_sha256`` (hashed once by the
        caller) and they are hashed and written once per file, not once per article.
        """
        with self.transaction():
            if self.has_article(article.id):
                return False
            if raw is not None:
                article.raw_sha256 = self.put_raw(raw, raw_sha256)
            self.db.execute(
                "INSERT INTO articles (id, raw_sha256, published, outlet, title, data) VALUES (?,?,?,?,?,?)",
                (article.id, article.raw_sha256, article.published, article.outlet, article.title,
                 json.dumps(article.to_dict(), ensure_ascii=False)),
            )
        if article.raw_sha256 and not self.db.in_transaction:
            self._raw_stored.add(article.raw_sha256)  # committed now
        return True

    def add_articles(self, items: Iterable[tuple[Article, Optional[bytes]]],
                     marks: Iterable[IngestedRecord] = ()) -> list[bool]:
        """Store a batch of (article, raw) in one transaction, with the archive records it came
        from marked as ingested; return for each article whether it was new."""
        with self.transaction():
            added = [self.add_article(article, raw) for article, raw in items]
            self.mark_ingested(marks)
        return added

    def mark_ingested(self, marks: Iterable[IngestedRecord]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO ingested_records (key, path, article_id, entry) VALUES (?,?,?,?)",
                            [(m.key, m.path, m.article_id, m.entry) for m in marks])

    def ingested(self, keys: Iterable[str]) -> dict[str, IngestedRecord]:
        """Those of these archive-record keys already ingested (from any file), by key."""
        keys, found = list(keys), {}
        for start in range(0, len(keys), 500):  # under SQLite's bound-parameter limit
            chunk = keys[start:start + 500]
            rows = self.db.execute("SELECT key, path, article_id, entry FROM ingested_records WHERE key IN "
                                   f"({','.join('?' * len(chunk))})", chunk)
            found.update((r[0], IngestedRecord(*r)) for r in rows)
        return found

    def update_article(self, article: Article) -> None:
        """Rewrite an article's metadata (e.g. an inferred date); its id stays."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE articles SET published=?, outlet=?, title=?, data=? WHERE id=?",
                (article.published, article.outlet, article.title,
                 json.dumps(article.to_dict(), ensure_ascii=False), article.id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no article {article.id} in {self.path}; run `storydesk articles`")

    def put_raw(self, raw: bytes, sha256: Optional[str] = None) -> str:
        """Store raw input bytes once; ``_raw_stored`` holds only hashes whose insert committed."""
        sha = sha256 or hashlib.sha256(raw).hexdigest()
        if sha not in self._raw_stored:  # binding a 25 MB blob per article would copy it each time
            self.db.execute("INSERT OR IGNORE INTO raw_inputs (sha256, size, data) VALUES (?,?,?)",
                            (sha, len(raw), raw))
        return sha

    def get_raw(self, sha256: str) -> bytes:
        row = self.db.execute("SELECT data FROM raw_inputs WHERE sha256=?", (sha256,)).fetchone()
        if row is None:
            raise NotFound(f"no raw input {sha256} in {self.path}")
        return row[0]

    def get_article(self, article_id: str) -> Article:
        """Return one article; a unique id prefix is enough."""
        rows = self.db.execute("SELECT data FROM articles WHERE id LIKE ? ORDER BY seq LIMIT 2",
                               (article_id.replace("%", "") + "%",)).fetchall()
        if len(rows) != 1:
            what = "no article" if not rows else "more than one article"
            raise NotFound(f"{what} matches id {article_id!r} in {self.path}; "
                           "list ids with `storydesk articles`")
        return Article.from_dict(json.loads(rows[0][0]))

    def articles(self, ids: Optional[Iterable[str]] = None) -> list[Article]:
        """Return articles in arrival order (all, or those in ``ids``)."""
        if ids is None:
            rows = self.db.execute("SELECT data FROM articles ORDER BY seq").fetchall()
            return [Article.from_dict(json.loads(d)) for (d,) in rows]
        found = []
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            marks = ",".join("?" * len(chunk))
            found += self.db.execute(f"SELECT seq, data FROM articles WHERE id IN ({marks})", chunk).fetchall()
        return [Article.from_dict(json.loads(d)) for _, d in sorted(found)]

    def article_ids(self) -> list[str]:
        """Every article id, in arrival order."""
        return [r[0] for r in self.db.execute("SELECT id FROM articles ORDER BY seq")]

    def iter_articles(self, batch: int = 200) -> Iterator[list[Article]]:
        """Every article in arrival order, ``batch`` at a time (memory does not grow with the store)."""
        last = 0
        while True:
            rows = self.db.execute("SELECT seq, data FROM articles WHERE seq>? ORDER BY seq LIMIT ?",
                                   (last, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [Article.from_dict(json.loads(d)) for _, d in rows]

    def article_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]

    # -- ingest log -----------------------------------------------------
    def log_outcome(self, run_id: str, outcome: IngestOutcome, at: str) -> None:
        # Paths may hold undecodable bytes (surrogate escapes), which SQLite cannot bind.
        self.db.execute(
            "INSERT INTO ingest_log (run_id, path, entry, status, article_id, reason, at) VALUES (?,?,?,?,?,?,?)",
            (run_id, scrub_surrogates(outcome.path), outcome.entry, outcome.status, outcome.article_id,
             scrub_surrogates(outcome.reason or "") or None, at),
        )

    def log_outcomes(self, run_id: str, outcomes: Iterable[IngestOutcome], at: str) -> None:
        """Log many outcomes in one transaction."""
        with self.transaction():
            self.db.executemany(
                "INSERT INTO ingest_log (run_id, path, entry, status, article_id, reason, at) VALUES (?,?,?,?,?,?,?)",
                [(run_id, scrub_surrogates(o.path), o.entry, o.status, o.article_id,
                  scrub_surrogates(o.reason or "") or None, at) for o in outcomes])

    # -- stage output ---------------------------------------------------
    def put_records(self, kind: str, records: Iterable[Record], story_id=None) -> None:
        """Insert or replace records of one kind (keyed by story and ``id``)."""
        rows = []
        for n, rec in enumerate(records):
            data = rec.to_dict()
            sid = story_id or data.get("story_id") or (data.get("id", "") if kind == "stories" else "")
            rid = data.get("id") or f"{sid}:{n}"
            rows.append((kind, sid, rid, data.get("article_id"), json.dumps(data, ensure_ascii=False)))
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO records (kind, story_id, id, article_id, data) VALUES (?,?,?,?,?)", rows)

    def replace_records(self, kind: str, records: Iterable[Record], story_id=None) -> None:
        """Drop the kind's records (for one story, or all) and write these instead."""
        with self.transaction():
            self.delete_records(kind, story_id)
            self.put_records(kind, records, story_id)

    def delete_records(self, kind: str, story_id=None) -> None:
        if story_id is None:
            self.db.execute("DELETE FROM records WHERE kind=?", (kind,))
        else:
            self.db.execute("DELETE FROM records WHERE kind=? AND story_id=?", (kind, story_id))

    def delete_story_records(self, story_id: str, kinds: Iterable[str]) -> None:
        """Drop every record of ``kinds`` that belongs to one story."""
        with self.transaction():
            for kind in kinds:
                self.delete_records(kind, story_id)

    def get_records(self, kind: str, cls: Type[R], story_id=None) -> list[R]:
        if story_id is None:
            # By story, then as the story's stages wrote them: stories are analysed in parallel and
            # saved as they finish, so the write order alone would differ from run to run.
            rows = self.db.execute("SELECT data FROM records WHERE kind=? ORDER BY story_id, rowid", (kind,))
        else:
            rows = self.db.execute("SELECT data FROM records WHERE kind=? AND story_id=? ORDER BY rowid",
                                   (kind, story_id))
        return [cls.from_dict(json.loads(d)) for (d,) in rows]

    # -- per-article work and vectors -------------------------------------
    def get_work(self, article_ids: Iterable[str], key: str, version: str) -> dict[str, Optional[bytes]]:
        """Stored per-article work of ``key`` at ``version``: ``{article_id: data}`` (missing ids absent)."""
        out: dict[str, Optional[bytes]] = {}
        for chunk in _chunks(list(article_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT article_id, data FROM article_work WHERE key=? AND version=? "
                                   f"AND article_id IN ({marks})", (key, version, *chunk))
            out.update(rows)
        return out

    def put_work(self, key: str, version: str, items: Iterable[tuple[str, Optional[bytes]]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO article_work (article_id, key, version, data) "
                                "VALUES (?,?,?,?)", [(aid, key, version, data) for aid, data in items])

    def delete_work(self, keys: Iterable[str]) -> None:
        with self.transaction():
            for key in keys:
                self.db.execute("DELETE FROM article_work WHERE key=?", (key,))

    def ids_without_work(self, key: str, version: str, limit: Optional[int] = None) -> list[str]:
        """Ids (arrival order) of articles with no ``key`` work at ``version``."""
        sql = ("SELECT a.id FROM articles a LEFT JOIN article_work w ON w.article_id=a.id AND w.key=? "
               "AND w.version=? WHERE w.article_id IS NULL ORDER BY a.seq")
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in self.db.execute(sql, (key, version))]

    def get_fact(self, key: str) -> Optional[bytes]:
        row = self.db.execute("SELECT data FROM article_facts WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def put_facts(self, items: dict[str, bytes]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO article_facts (key, data) VALUES (?,?)", list(items.items()))

    def delete_facts(self) -> None:
        self.db.execute("DELETE FROM article_facts")

    def get_vectors(self, keys: Iterable[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), 500):
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT key, data FROM vectors WHERE key IN ({marks})", chunk))
        return out

    def stored_vector_keys(self, keys: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(keys)), 500):
            marks = ",".join("?" * len(chunk))
            out.update(k for (k,) in self.db.execute(f"SELECT key FROM vectors WHERE key IN ({marks})", chunk))
        return out

    def put_vectors(self, items: dict[str, bytes]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO vectors (key, data) VALUES (?,?)", list(items.items()))

    # -- story runs -------------------------------------------------------
    def forget_analysis(self) -> None:
        """Drop every story and everything analysed per story (per-article work stays)."""
        with self.transaction():
            self.db.execute("DELETE FROM records")
            self.db.execute("DELETE FROM story_runs")
            self.db.execute("DELETE FROM state WHERE substr(name, 1, 6)='story:'")

    def story_fingerprints(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT story_id, fingerprint FROM story_runs"))

    def put_story_run(self, story_id: str, fingerprint: str, at: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO story_runs (story_id, fingerprint, at) VALUES (?,?,?)",
                        (story_id, fingerprint, at))

    # -- incremental state ----------------------------------------------
    def get_state(self, name: str) -> Optional[bytes]:
        row = self.db.execute("SELECT data FROM state WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def states(self, prefix: str) -> dict[str, bytes]:
        """Every state whose name starts with ``prefix``."""
        rows = self.db.execute("SELECT name, data FROM state WHERE substr(name, 1, ?)=?", (len(prefix), prefix))
        return dict(rows)

    def delete_state(self, name: str) -> None:
        self.db.execute("DELETE FROM state WHERE name=?", (name,))

    def put_state(self, name: str, data: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO state (name, data) VALUES (?,?)", (name, data))


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _check_path(path: str) -> None:
    """Name the --db mistakes SQLite would only report as a traceback or not at all."""
    if path == ":memory:" or path.startswith("file:"):
        return
    from .pgstore import _masked, is_pg_url

    if is_pg_url(path):  # SQLite would quietly make a folder named "postgresql:"
        raise NotAStore(_masked(path), "it is a PostgreSQL URL", "open it with storydesk.store.open_store")
    p = Path(path)
    if p.is_dir():
        raise NotAStore(path, "it is a folder", "give --db a file name inside it, e.g. "
                                               f"{str(p / 'storydesk.db')!r}")
    if p.exists() and not p.is_file():
        raise NotAStore(path, "it is not a regular file (a device such as /dev/null, a pipe or a socket)")
    if p.is_file() and p.stat().st_size:
        try:
            with open(p, "rb") as fh:
                head = fh.read(100)
        except OSError as exc:
            raise ReadOnlyStore(path, f"it cannot be read ({exc.strerror})",
                                "check the file's permissions, or use another --db") from exc
        if not head.startswith(b"SQLite format 3\x00"):
            raise NotAStore(path, "it is not an SQLite database (it starts with "
                                  f"{head[:16]!r}; a text file?)", "give --db a new file name or a storydesk store")
        if _truncated(head, p.stat().st_size):
            raise CorruptStore(path, f"the file is truncated ({p.stat().st_size} bytes)",
                               "restore it from a backup, or give --db a new file and ingest again")


def _truncated(head: bytes, size: int) -> bool:
    """Whether the SQLite header promises more pages than the file holds."""
    if len(head) < 100:
        return True
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the in-header page count is only valid when these agree
    return size % 512 != 0 or (valid and pages * page > size)


def _named_store_error(path: str, exc: Exception) -> StoreError:
    msg = str(exc).lower()
    folder = Path(path).parent
    if "unable to open" in msg and not Path(path).exists() and folder.is_dir() and not os.access(folder, os.W_OK):
        return ReadOnlyStore(path, f"its folder {str(folder)!r} cannot be written",
                             "choose a --db in a folder you can write to")
    if "readonly" in msg or "read-only" in msg or "permission" in msg or ("unable to open" in msg and Path(path).exists()):
        return ReadOnlyStore(path, f"it cannot be written ({exc})",
                             "check the file's and its folder's permissions, or use another --db")
    if "not a database" in msg:
        return NotAStore(path, "it is not an SQLite database")
    if "malformed" in msg or "corrupt" in msg or "disk i/o" in msg or "truncat" in msg:
        return CorruptStore(path, f"the database is damaged ({exc})",
                            "restore it from a backup, or give --db a new file and ingest again")
    return StoreError(f"cannot open the store {path}: {exc}; check the --db path")


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our literals)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
