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
from .records import Article, IngestOutcome, Record

R = TypeVar("R", bound=Record)


def migrations() -> list[tuple[int, str]]:
    """Return ``(number, sql)`` for every migration file, in order."""
    found = []
    for entry in resources.files("storydesk.migrations").iterdir():
        if entry.name.endswith(".sql") and entry.name[:3].isdigit():
            found.append((int(entry.name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


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
        self.db.execute(
            "INSERT INTO ingest_log (run_id, path, entry, status, article_id, reason, at) VALUES (?,?,?,?,?,?,?)",
            (run_id, outcome.path, outcome.entry, outcome.status, outcome.article_id, outcome.reason, at),
        )

    # -- stage output ---------------------------------------------------
    def put_records(self, kind: str, records: Iterable[Record], story_id=None) -> None:
        """Insert or replace records of one kind (keyed by story and ``id``)."""
        rows = []
        for n, rec in enumerate(records):
            data = rec.to_dict()
            sid = story_id or data.get("story_id") or ""
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
            rows = self.db.execute("SELECT data FROM records WHERE kind=? ORDER BY rowid", (kind,))
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

    def get_vectors(self, keys: Iterable[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), 500):
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT key, data FROM vectors WHERE key IN ({marks})", chunk))
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


def open_store(location: str) -> "SQLiteStore":
    """The store at ``location``: a SQLite file path (the default backend)."""
    return SQLiteStore(location)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our literals)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
