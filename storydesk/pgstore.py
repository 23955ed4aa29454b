"""The PostgreSQL store: ``SQLiteStore``'s interface and SQL on a server shared by many writers.

One copy of the store logic: ``PGStore`` subclasses ``SQLiteStore`` and runs its SQL through
a small dialect translation (``?`` placeholders, ``INSERT OR IGNORE/REPLACE`` as upserts,
SQLite's implicit ``rowid`` as an identity column). The numbered migrations are the same
files, translated the same way and applied under an advisory lock, so many processes can
open one fresh database at once.

Every public call is one unit of work: if the connection drops (server restart, network
cut, ``pg_terminate_backend``) the call reconnects and runs again. Each unit either
committed or rolled back as a whole, and every write is idempotent (articles and raw inputs
are keyed by content, records and state are upserts), so a replay neither loses nor doubles
anything. Needs psycopg 3: ``pip install 'storydesk[pg]'``.
"""
from __future__ import annotations

import contextlib
import functools
import re
import time
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

from .errors import SchemaTooNew, StoreError
from .store import SQLiteStore, _split_sql, migrations

RETRIES = 5
BACKOFF_S = (0.1, 0.3, 1.0, 2.0)
_MIGRATION_LOCK = 0x5354_4F52_5944  # advisory lock key ("STORYD"): one migrator at a time
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE


def is_pg_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:
        raise StoreError("a postgresql:// store needs psycopg 3: pip install 'storydesk[pg]'") from exc
    return psycopg


def _retried(method):
    """Run a store method as one unit, replayed on a fresh connection if the old one drops."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        return self._retry(method, self, *args, **kwargs)
    return run


class PGStore(SQLiteStore):
    """PostgreSQL store selected by a ``postgresql://`` URL (see ``storydesk.store.open_store``)."""

    def __init__(self, url: str):
        # Worker processes open the store from ``path``, so it is the URL itself: keep passwords
        # in PGPASSWORD or ~/.pgpass, not in the URL, or they show in messages (``shown`` masks them).
        self.path = self.url = url
        self.shown = _masked(url)
        self._raw_stored: set[str] = set()
        self._psycopg = _psycopg()
        self._in_retry = False
        self.db = self._connect()
        self._migrate()

    # -- connection ---------------------------------------------------------
    def _connect(self) -> "_Connection":
        try:
            conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                                         application_name="storydesk")
        except self._psycopg.Error as exc:
            raise StoreError(f"cannot connect to the store {self.shown}: {str(exc).strip()}; "
                             "check the server is running and the --db URL") from exc
        return _Connection(conn)

    def close(self) -> None:
        self.db.close()

    @property
    def broken(self) -> bool:
        """True once the connection dropped and no retried call has replaced it yet (a plain
        ``store.db.execute`` is not retried): a long-lived holder opens a new store instead."""
        raw = self.db.raw
        return raw is None or raw.closed or raw.broken

    def _retry(self, method, *args, **kwargs):
        if self._in_retry or self.db.in_transaction:  # inside a larger unit: that unit is replayed
            return method(*args, **kwargs)
        args = tuple(_replayable(a) for a in args)
        kwargs = {k: _replayable(v) for k, v in kwargs.items()}
        for attempt in range(RETRIES):
            self._in_retry = True
            try:
                return method(*args, **kwargs)
            except self._psycopg.OperationalError as exc:
                self.db.discard()
                if attempt == RETRIES - 1:
                    raise StoreError(f"lost the connection to {self.shown} {RETRIES} times ({str(exc).strip()}); "
                                     "nothing was half-written: check the server and re-run") from exc
                time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                self.db = self._reconnect_quietly()
            finally:
                self._in_retry = False

    def _reconnect_quietly(self) -> "_Connection":
        try:
            return self._connect()
        except StoreError:
            return _Connection(None)  # the next attempt fails fast and is counted

    @contextlib.contextmanager
    def transaction(self) -> Iterator["_Connection"]:
        """Run a block atomically (nested calls join the outer transaction)."""
        if self.db.in_transaction:
            yield self.db
            return
        try:
            self.db.execute("BEGIN")
            try:
                yield self.db
            except BaseException:
                self.db.rollback_quietly()
                raise
            self.db.execute("COMMIT")
        except self._psycopg.OperationalError as exc:
            if self._in_retry:
                raise  # _retry replays the whole unit
            self.db.discard()
            self.db = self._reconnect_quietly()
            raise StoreError(f"lost the connection to {self.shown} inside a transaction; it was rolled back "
                             "as a whole: re-run the command") from exc

    # -- schema ---------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        row = self.db.execute("SELECT coalesce(max(number), 0) FROM storydesk_migrations").fetchone()
        return row[0]

    def applied_migrations(self) -> set[int]:
        return {n for (n,) in self.db.execute("SELECT number FROM storydesk_migrations")}

    def _migrate(self) -> None:
        """Apply every migration not yet applied, in order, while holding the advisory lock."""
        raw = self.db.raw
        raw.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            raw.execute("CREATE TABLE IF NOT EXISTS storydesk_migrations "
                        "(number INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            known, done = migrations(), self.applied_migrations()
            if known and done and max(done) > known[-1][0]:
                raise SchemaTooNew(self.shown, max(done), known[-1][0])
            for number, sql in known:
                if number not in done:
                    with raw.transaction():
                        for statement in _split_sql(sql):
                            if (translated := translate_ddl(statement, self._table_exists)) is not None:
                                raw.execute(translated)
                        raw.execute("INSERT INTO storydesk_migrations (number) VALUES (%s)", (number,))
        finally:
            raw.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    def _table_exists(self, name: str) -> bool:
        return self.db.raw.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]

    # -- writes that must be safe with many writers ------------------------------
    def add_article(self, article, raw: Optional[bytes] = None, raw_sha256: Optional[str] = None) -> bool:
        """Store the article (and its raw bytes); return False if already present.

        ON CONFLICT instead of SQLite's check-then-insert: two writers racing on one
        article both succeed, and exactly one of them reports it added."""
        with self.transaction():
            if self.has_article(article.id):
                return False
            if raw is not None:
                article.raw_sha256 = self.put_raw(raw, raw_sha256)
            added = self._insert_article(article)
        if added and article.raw_sha256 and not self.db.in_transaction:
            self._raw_stored.add(article.raw_sha256)  # committed now
        return added

    def _insert_article(self, article) -> bool:
        import json
        cur = self.db.execute(
            "INSERT INTO articles (id, raw_sha256, published, outlet, title, data) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (id) DO NOTHING",
            (article.id, article.raw_sha256, article.published, article.outlet, article.title,
             json.dumps(article.to_dict(), ensure_ascii=False)))
        return cur.rowcount == 1


# Every public method of the store is one retried unit of work.
for _name in ("has_article", "add_article", "update_article", "put_raw", "get_raw", "get_article", "articles",
              "article_count", "log_outcome", "put_records", "replace_records", "delete_records",
              "get_records", "get_state", "put_state", "add_articles", "ingested", "mark_ingested",
              "log_outcomes", "article_ids", "delete_story_records", "get_work", "put_work", "delete_work",
              "ids_without_work", "get_vectors", "stored_vector_keys", "put_vectors", "forget_analysis", "story_fingerprints",
              "put_story_run", "states", "delete_state"):
    if hasattr(PGStore, _name):
        setattr(PGStore, _name, _retried(getattr(PGStore, _name)))


def _replayable(value: Any) -> Any:
    """A generator argument would be empty on a replay: materialise it first."""
    if isinstance(value, Iterator):
        return list(value)
    return value


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class _Connection:
    """A psycopg connection that speaks the SQLite dialect store.py writes (see ``translate``)."""

    def __init__(self, conn):
        self.raw = conn
        self._upserts: dict[tuple[str, str], str] = {}

    @property
    def in_transaction(self) -> bool:
        return self.raw is not None and not self.raw.closed and self.raw.info.transaction_status != _IDLE

    def execute(self, sql: str, params: tuple = ()):
        return self._cursor().execute(*self._prepare(sql, params))

    def executemany(self, sql: str, rows):
        rows = [_clean_params(r) for r in rows]
        cur = self._cursor()
        if rows:
            cur.executemany(self._prepare(sql, rows[0])[0], rows)
        return cur

    def _cursor(self):
        if self.raw is None:
            from psycopg import OperationalError
            raise OperationalError("not connected")
        return self.raw.cursor()

    def _prepare(self, sql: str, params) -> tuple[str, Any]:
        sql = translate(sql, self._upsert_clause)
        if not params:
            return sql, None
        return sql.replace("%", "%%").replace("?", "%s"), _clean_params(params)

    def _upsert_clause(self, table: str, columns: list[str]) -> str:
        """SQLite's INSERT OR REPLACE: on a unique key, overwrite and move the row to the end."""
        cache_key = (table, ",".join(columns))
        if cache_key not in self._upserts:
            target, order_col = _unique_key(self.raw, table)
            sets = [f"{c} = EXCLUDED.{c}" for c in columns if c not in target]
            if order_col and order_col not in columns:
                sets.append(f"{order_col} = DEFAULT")
            self._upserts[cache_key] = f" ON CONFLICT ({', '.join(target)}) DO UPDATE SET {', '.join(sets)}"
        return self._upserts[cache_key]

    def rollback_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.execute("ROLLBACK")

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


def _clean_params(params):
    """PostgreSQL text cannot hold NUL; only display columns can carry one (JSON escapes it)."""
    return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params)


def _unique_key(conn, table: str) -> tuple[list[str], Optional[str]]:
    """The unique key an upsert targets, and the table's arrival-order column (if any)."""
    rows = conn.execute(
        "SELECT i.indisprimary, array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisunique GROUP BY i.indexrelid, i.indisprimary "
        "ORDER BY i.indisprimary DESC", (table,)).fetchall()
    order = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attidentity <> ''",
                         (table,)).fetchone()
    order_col = order[0] if order else None
    keys = [list(cols) for _, cols in rows if list(cols) != [order_col]]
    if not keys:
        raise StoreError(f"table {table} has no unique key for INSERT OR REPLACE; fix the migration")
    return keys[0], order_col


# -- the dialect translation ----------------------------------------------------
_INSERT_OR = re.compile(r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.I | re.S)


def translate(sql: str, upsert_clause=None) -> str:
    """Translate one statement of store.py's SQLite SQL to PostgreSQL."""
    stripped = sql.strip()
    if re.match(r"BEGIN\b", stripped, re.I):
        return "BEGIN"
    match = _INSERT_OR.match(stripped)
    if not match:
        return stripped
    verb, table, cols = match.groups()
    body = "INSERT INTO " + stripped[match.end(1):].lstrip()[len("INTO"):].lstrip()
    if verb.upper() == "IGNORE":
        return body + " ON CONFLICT DO NOTHING"
    columns = [c.strip() for c in cols.split(",")]
    return body + upsert_clause(table, columns)


def translate_ddl(statement: str, table_exists=lambda name: True) -> Optional[str]:
    """Translate one migration statement; None for SQLite-only ones (PRAGMA, FTS5 virtual
    tables: the search index is SQLite-only)."""
    sql = "\n".join(line.split("--", 1)[0].rstrip() for line in statement.splitlines()).strip()
    if re.match(r"(PRAGMA|CREATE\s+VIRTUAL\s+TABLE)\b", sql, re.I):
        return None
    if re.match(r"CREATE\s+TABLE\b", sql, re.I):
        return _create_table(_references(_reserved(sql), table_exists))
    if re.match(r"ALTER\s+TABLE\b.*\bADD\b", sql, re.I | re.S):
        return _types(sql)
    return sql


def _create_table(sql: str) -> str:
    """Column types, and SQLite's rowid: every table keeps an arrival order to ORDER BY."""
    has_rowid = not re.search(r"\)\s*WITHOUT\s+ROWID\s*$", sql, re.I)
    sql = re.sub(r"\s+WITHOUT\s+ROWID\s*$", "", sql, flags=re.I)
    pk = re.search(r"(\w+)\s+INTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?", sql, re.I)
    if pk:
        sql = sql[:pk.start()] + f"{pk.group(1)} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" \
            + sql[pk.end():]
        extra = f"rowid BIGINT GENERATED ALWAYS AS ({pk.group(1)}) STORED" if pk.group(1).lower() != "rowid" else ""
    else:
        extra = "rowid BIGINT GENERATED BY DEFAULT AS IDENTITY" if has_rowid else ""
    sql = _types(sql)
    if extra:
        close = sql.rstrip().rfind(")")
        sql = sql[:close].rstrip() + f",\n    {extra}\n)" + sql[close + 1:]
    return sql


# Words PostgreSQL reserves that SQLite takes as column names: quoted where a column is defined.
_RESERVED = ("end", "user", "order", "group", "limit", "offset", "default", "check", "column", "table")


def _reserved(sql: str) -> str:
    pattern = r"([(,]\s*)(" + "|".join(_RESERVED) + r")(\s+(?:TEXT|INTEGER|REAL|BLOB|NUMERIC)\b)"
    return re.sub(pattern, r'\1"\2"\3', sql, flags=re.I)


def _references(sql: str, table_exists) -> str:
    """SQLite accepts a foreign key to a table created later; PostgreSQL does not. Such a
    reference (none of storydesk's integrity checks rely on one) is left out."""
    def keep(match):
        return match.group(0) if table_exists(match.group(1)) else ""
    return re.sub(r"\s+REFERENCES\s+(\w+)\s*\([^)]*\)", keep, sql, flags=re.I)


def _types(sql: str) -> str:
    sql = re.sub(r"\bINTEGER\b(?!\s+PRIMARY)", "BIGINT", sql, flags=re.I)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql, flags=re.I)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql, flags=re.I)
