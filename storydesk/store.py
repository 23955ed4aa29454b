"""The article store: a small interface, SQLite behind it.

Schema changes are numbered SQL files in ``storydesk/migrations``; the
database's ``user_version`` says which have been applied.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator, Optional, Type, TypeVar

from .errors import NotFound, SchemaTooNew, StoreError
from .records import Article, IngestedRecord, IngestOutcome, Record

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
        try:
            if path != ":memory:" and not path.startswith("file:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}; check the --db path") from exc
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

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
        known = migrations()
        current = self.schema_version
        if known and current > known[-1][0]:
            raise SchemaTooNew(self.path, current, known[-1][0])
        for number, sql in known:
            if number > current:
                with self.transaction():
                    for statement in _split_sql(sql):
                        self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version={number}")

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

    def add_article(self, article: Article, raw: Optional[bytes] = None) -> bool:
        """Store the article (and its raw bytes); return False if already present."""
        with self.transaction():
            if self.has_article(article.id):
                return False
            if raw is not None:
                article.raw_sha256 = self.put_raw(raw)
            self.db.execute(
                "INSERT INTO articles (id, raw_sha256, published, outlet, title, data) VALUES (?,?,?,?,?,?)",
                (article.id, article.raw_sha256, article.published, article.outlet, article.title,
                 json.dumps(article.to_dict(), ensure_ascii=False)),
            )
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

    def put_raw(self, raw: bytes) -> str:
        sha = hashlib.sha256(raw).hexdigest()
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
        rows = self.db.execute("SELECT id, data FROM articles ORDER BY seq").fetchall()
        wanted = None if ids is None else set(ids)
        return [Article.from_dict(json.loads(d)) for i, d in rows if wanted is None or i in wanted]

    def article_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]

    # -- ingest log -----------------------------------------------------
    def log_outcome(self, run_id: str, outcome: IngestOutcome, at: str) -> None:
        self.db.execute(
            "INSERT INTO ingest_log (run_id, path, entry, status, article_id, reason, at) VALUES (?,?,?,?,?,?,?)",
            (run_id, outcome.path, outcome.entry, outcome.status, outcome.article_id, outcome.reason, at),
        )

    def log_outcomes(self, run_id: str, outcomes: Iterable[IngestOutcome], at: str) -> None:
        """Log many outcomes in one transaction."""
        with self.transaction():
            self.db.executemany(
                "INSERT INTO ingest_log (run_id, path, entry, status, article_id, reason, at) VALUES (?,?,?,?,?,?,?)",
                [(run_id, o.path, o.entry, o.status, o.article_id, o.reason, at) for o in outcomes])

    # -- stage output ---------------------------------------------------
    def put_records(self, kind: str, records: Iterable[Record], story_id=None) -> None:
        """Insert or replace records of one kind (keyed by their ``id``)."""
        rows = []
        for n, rec in enumerate(records):
            data = rec.to_dict()
            rid = data.get("id") or f"{story_id or ''}:{n}"
            rows.append((kind, rid, story_id or data.get("story_id"), data.get("article_id"),
                         json.dumps(data, ensure_ascii=False)))
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO records (kind, id, story_id, article_id, data) VALUES (?,?,?,?,?)", rows)

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

    def get_records(self, kind: str, cls: Type[R], story_id=None) -> list[R]:
        if story_id is None:
            rows = self.db.execute("SELECT data FROM records WHERE kind=? ORDER BY rowid", (kind,))
        else:
            rows = self.db.execute("SELECT data FROM records WHERE kind=? AND story_id=? ORDER BY rowid",
                                   (kind, story_id))
        return [cls.from_dict(json.loads(d)) for (d,) in rows]

    # -- incremental state ----------------------------------------------
    def get_state(self, name: str) -> Optional[bytes]:
        row = self.db.execute("SELECT data FROM state WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def put_state(self, name: str, data: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO state (name, data) VALUES (?,?)", (name, data))


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our literals)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
