"""Hybrid search over stored sentences: SQLite FTS5 (bm25, snippets) fused with
embedding similarity, with filters by story, outlet, entity and date. A result is an
article, shown by its best sentence (the span a result links to).

:func:`update_index` is the only writer (called at the end of analysis): it
indexes articles not indexed yet, embeds only sentences never seen, and
rebuilds the story/entity filter tables only when that stage output changed,
so running it twice does nothing the second time. :func:`search` only reads.

On the PostgreSQL store the same tables hold the index, and PostgreSQL full-text search
(``to_tsvector('english')``, ``ts_rank``, a GIN expression index) stands in for FTS5:
ranking and fusion are the same, snippets are the whole sentence with the words marked.
"""
from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .errors import BadQuery
from .records import Article, SearchHit
from .text import load_data, normalise, sentence_spans

MAX_QUERY_CHARS = 1000  # longer text is a document, not a query
MAX_TERMS = 32
# Weight of the keyword score against the sentence-vector score in hybrid search. Chosen by
# benchmarks/serve.py on its tuning half of the queries (mean average precision), never on the
# half it reports.
FTS_WEIGHT = 0.8
CANDIDATES = 100  # keyword matches ranked before fusion (at least)
MODES = ("hybrid", "fts", "vector")
_WORD = re.compile(r"\w+", re.UNICODE)
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"  # FTS5 snippet markers; never in article text after cleaning

Encoder = Callable[[list[str]], np.ndarray]


def _default_encoder(texts: list[str]) -> np.ndarray:
    from .embed import embed
    return embed(texts)


def _stored_encoder(store) -> Encoder:
    """The default encoder, answering first from the vectors the per-article work stored
    (every sentence and headline of an analysed article is there already)."""
    from . import work

    def encode(texts: list[str]) -> np.ndarray:
        keys = [work.vector_key(t) for t in texts]
        found = store.get_vectors(keys)
        missing = [t for t, k in zip(texts, keys) if k not in found]
        fresh = dict(zip(missing, _default_encoder(missing))) if missing else {}
        return np.stack([work.unpack(found[k]) if k in found else fresh[t] for t, k in zip(texts, keys)])
    return encode


# --------------------------------------------------------------------------- indexing
@dataclass
class IndexReport:
    articles: int = 0  # newly indexed
    sentences: int = 0
    vectors: int = 0  # newly embedded
    filters_rebuilt: bool = False
    vector_error: Optional[str] = None


def update_index(store, encoder: Optional[Encoder] = None) -> IndexReport:
    """Index what is new in ``store`` (idempotent); return what was done."""
    report = IndexReport()
    sqlite = is_sqlite(store)
    if not sqlite:
        _pg_text_index(store.db)
    new = [Article.from_dict(json.loads(d)) for (d,) in store.db.execute(
        "SELECT data FROM articles WHERE id NOT IN (SELECT article_id FROM search_articles) ORDER BY seq")]
    with store.transaction():
        for article in new:
            report.sentences += _index_article(store.db, article, fts5=sqlite)
        report.articles = len(new)
    try:
        report.vectors = _embed_missing(store, encoder or _stored_encoder(store))
    except Exception as exc:  # no model: keyword search still works; say so
        report.vector_error = f"{type(exc).__name__}: {exc}"
    report.filters_rebuilt = _refresh_filters(store)
    if report.articles or report.vectors:
        # Readers cache the vectors per version: a cheap key instead of scanning the sentences.
        store.put_state("search.version", str(time.time_ns()).encode())
    return report


def is_sqlite(store) -> bool:
    return isinstance(getattr(store, "db", None), sqlite3.Connection)


def _pg_text_index(db) -> None:
    # The PostgreSQL store's schema comes from the SQLite migrations, which cannot say this; the
    # index belongs to search, so search makes it (once: IF NOT EXISTS).
    db.execute("CREATE INDEX IF NOT EXISTS search_sentences_tsv ON search_sentences "
               "USING gin (to_tsvector('english', text))")


def _index_article(db, article: Article, fts5: bool = True) -> int:
    rows = [(article.id, a, b, article.text[a:b]) for a, b in sentence_spans(article.text)
            if _WORD.search(article.text[a:b])]
    if article.title:
        rows.append((article.id, -1, -1, article.title))  # the headline is searchable too (span -1: no span)
    sql = 'INSERT OR IGNORE INTO search_sentences (article_id, start, "end", text) VALUES (?,?,?,?)'
    if not fts5:
        db.executemany(sql, rows)  # PostgreSQL's text index follows the table by itself
    else:
        for row in rows:
            cur = db.execute(sql, row)
            if cur.rowcount:
                db.execute("INSERT INTO search_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, row[3]))
    db.execute("INSERT OR REPLACE INTO search_articles (article_id, sentences) VALUES (?,?)", (article.id, len(rows)))
    return len(rows)


def _embed_missing(store, encoder: Encoder, batch: int = 512) -> int:
    """Embed sentences without a vector; identical sentences (wire copies) share one."""
    db, added = store.db, 0
    while True:
        rows = db.execute("SELECT rowid, text FROM search_sentences WHERE vector_id IS NULL LIMIT ?", (batch,)).fetchall()
        if not rows:
            return added
        keys = [normalise(t) for _, t in rows]
        known = dict(db.execute(f"SELECT key, id FROM search_vectors WHERE key IN ({','.join('?' * len(keys))})", keys))
        todo = list(dict.fromkeys(k for k in keys if k not in known))
        texts = {normalise(t): t for _, t in rows}
        vectors = encoder([texts[k] for k in todo]) if todo else np.zeros((0, 1))
        with store.transaction():
            for key, vec in zip(todo, vectors):
                known[key] = db.execute("INSERT INTO search_vectors (key, vector) VALUES (?,?) RETURNING id",
                                        (key, np.asarray(vec, dtype=np.float16).tobytes())).fetchone()[0]
            db.executemany("UPDATE search_sentences SET vector_id=? WHERE rowid=?",
                           [(known[k], rowid) for (rowid, _), k in zip(rows, keys)])
        added += len(todo)


def _signature(db, kind: str) -> str:
    count, top = db.execute("SELECT count(*), max(rowid) FROM records WHERE kind=?", (kind,)).fetchone()
    return f"{kind}:{count}:{top}"


def _refresh_filters(store) -> bool:
    """Rebuild article->story and article->entity tables when those records changed."""
    db = store.db
    sig = "|".join(_signature(db, k) for k in ("stories", "entities")).encode()
    if store.get_state("search.filters") == sig:
        return False
    from .records import Entity, Story
    stories = store.get_records("stories", Story)
    entities = store.get_records("entities", Entity)
    with store.transaction():
        db.execute("DELETE FROM search_story")
        db.executemany("INSERT OR IGNORE INTO search_story (article_id, story_id) VALUES (?,?)",
                       [(aid, s.id) for s in stories for aid in s.article_ids])
        db.execute("DELETE FROM search_entity")
        db.executemany("INSERT OR IGNORE INTO search_entity (entity_id, name, article_id) VALUES (?,?,?)",
                       [(e.id, e.name, m.article_id) for e in entities for m in e.mentions])
        store.put_state("search.filters", sig)
    return True


# --------------------------------------------------------------------------- querying
@dataclass
class Filters:
    story: Optional[str] = None
    outlet: Optional[str] = None
    entity: Optional[str] = None  # entity id or name
    date_from: Optional[str] = None  # ISO date, inclusive
    date_to: Optional[str] = None

    def active(self) -> bool:
        return any(v for v in (self.story, self.outlet, self.entity, self.date_from, self.date_to))


def query_terms(query: str) -> list[str]:
    """The words of a query, for FTS5. Syntax characters (", *, -, NEAR, ^, :) are never operators."""
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(f"the query is {len(query):,} characters; shorten it to at most {MAX_QUERY_CHARS:,}",
                       code="query_too_long")
    words = list(dict.fromkeys(w.casefold() for w in _WORD.findall(query)))
    if not words:
        raise BadQuery("the query has no words to search for; type one or more words", code="empty_query")
    stop = frozenset(load_data("stopwords.json").get("en", []))
    content = [w for w in words if w not in stop]
    return (content or words)[:MAX_TERMS]


def _match_expression(terms: list[str]) -> str:
    # Each term is a quoted FTS5 string, so NEAR/AND/OR/NOT and * are plain words.
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _check_date(value: Optional[str], name: str) -> Optional[str]:
    if value and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        raise BadQuery(f"{name} {value!r} is not a date; write YYYY-MM-DD", code="bad_filter")
    return value or None


def _filter_sql(f: Filters, sqlite: bool = True) -> tuple[str, list]:
    """SQL conditions on ``s`` (search_sentences) and ``ar`` (articles) for the filters."""
    where, args = [], []
    same = "{} = ? COLLATE NOCASE" if sqlite else "lower({}) = lower(?)"  # PostgreSQL has no NOCASE
    if f.story:
        where.append("s.article_id IN (SELECT article_id FROM search_story WHERE story_id LIKE ?)")
        args.append(f.story.replace("%", "") + "%")
    if f.entity:
        where.append("s.article_id IN (SELECT article_id FROM search_entity WHERE entity_id=? OR "
                     + same.format("name") + ")")
        args += [f.entity, f.entity]
    if f.outlet:
        where.append(same.format("ar.outlet"))
        args.append(f.outlet)
    if f.date_from:
        where.append("substr(ar.published, 1, 10) >= ?")
        args.append(f.date_from)
    if f.date_to:
        where.append("substr(ar.published, 1, 10) <= ?")
        args.append(f.date_to + "\uffff")
    return (" AND ".join(where) or "1=1"), args


def _pg_ranked(db, terms: list[str], f: Filters, limit: int) -> list[tuple[int, float]]:
    """The keyword ranking on PostgreSQL: any of the words (``plainto_tsquery`` reads each as plain
    text, never as operators), ranked by ``ts_rank``; the GIN index finds the matches."""
    cond, args = _filter_sql(f, sqlite=False)
    query = " || ".join("plainto_tsquery('english', ?)" for _ in terms)
    sql = (f"SELECT s.rowid, ts_rank(to_tsvector('english', s.text), t.q) AS score "
           f"FROM search_sentences s JOIN articles ar ON ar.id = s.article_id, (SELECT {query} AS q) t "
           f"WHERE to_tsvector('english', s.text) @@ t.q AND {cond} ORDER BY score DESC, s.rowid LIMIT ?")
    return [(r, float(score)) for r, score in db.execute(sql, [*terms, *args, limit]).fetchall()]


def _fts_ranked(db, terms: list[str], f: Filters, limit: int) -> list[tuple[int, float]]:
    """``(sentence rowid, bm25 score)`` best first; scores are positive (SQLite's bm25 is negated)."""
    match = _match_expression(terms)
    if not f.active():
        # No join while ranking: joining every match (tens of thousands for common words) costs more than bm25.
        return db.execute("SELECT rowid, -bm25(search_fts) AS score FROM search_fts WHERE search_fts MATCH ? "
                          "ORDER BY score DESC LIMIT ?", (match, limit)).fetchall()
    cond, args = _filter_sql(f)
    sql = ("SELECT s.rowid, -bm25(search_fts) AS score FROM search_fts "
           "JOIN search_sentences s ON s.rowid = search_fts.rowid JOIN articles ar ON ar.id = s.article_id "
           f"WHERE search_fts MATCH ? AND {cond} ORDER BY score DESC LIMIT ?")
    return db.execute(sql, [match, *args, limit]).fetchall()


@dataclass
class _Vectors:
    """Every sentence vector in memory (float32), refreshed when the index grows.

    Sentences are grouped by article (``starts``), so an article's best sentence is one
    ``reduceat`` over the scores of all sentences.
    """

    version: tuple
    matrix: np.ndarray  # (n_vectors, dim)
    sent_ids: np.ndarray  # sentence rowids, grouped by article
    sent_vec: np.ndarray  # matrix row of each sentence
    starts: np.ndarray  # index in sent_ids where each article's sentences begin
    position: np.ndarray  # sentence rowid -> index in sent_ids (-1: no vector)


_VECTORS: dict[str, _Vectors] = {}
_VLOCK = threading.Lock()


def _vectors(store) -> Optional[_Vectors]:
    db = store.db
    version = (db.execute("SELECT max(id) FROM search_vectors").fetchone()[0], store.get_state("search.version"))
    if version[0] is None:
        return None
    with _VLOCK:
        cached = _VECTORS.get(store.path)
        if cached is not None and cached.version == version:
            return cached
        ids, blobs = [], []
        for vid, blob in db.execute("SELECT id, vector FROM search_vectors ORDER BY id"):
            ids.append(vid)
            blobs.append(blob)
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(ids), -1).astype(np.float32)
        row_of = {vid: n for n, vid in enumerate(ids)}
        rows = db.execute("SELECT rowid, vector_id, article_id FROM search_sentences WHERE vector_id IS NOT NULL "
                          "ORDER BY article_id, rowid").fetchall()
        if not rows:
            return None
        sent_ids = np.array([r[0] for r in rows], dtype=np.int64)
        new_article = [n for n, r in enumerate(rows) if n == 0 or r[2] != rows[n - 1][2]]
        position = np.full(int(sent_ids.max()) + 1, -1, dtype=np.int64)
        position[sent_ids] = np.arange(len(sent_ids))
        _VECTORS[store.path] = cached = _Vectors(version, matrix, sent_ids,
                                                 np.array([row_of[r[1]] for r in rows], dtype=np.int64),
                                                 np.array(new_article, dtype=np.int64), position)
        return cached


def _allowed(store, vec: _Vectors, f: Filters) -> Optional[np.ndarray]:
    """Mask over ``vec.sent_ids`` of the sentences the filters keep (None: no filter)."""
    if not f.active():
        return None
    cond, args = _filter_sql(f, is_sqlite(store))
    rowids = np.array([r[0] for r in store.db.execute(
        f"SELECT s.rowid FROM search_sentences s JOIN articles ar ON ar.id = s.article_id WHERE {cond}", args)],
        dtype=np.int64)
    rowids = rowids[rowids < len(vec.position)]
    keep = np.zeros(len(vec.sent_ids), dtype=bool)
    pos = vec.position[rowids]
    keep[pos[pos >= 0]] = True
    return keep


def search(store, query: str, *, filters: Optional[Filters] = None, limit: int = 20, offset: int = 0,
           mode: str = "hybrid", encoder: Optional[Encoder] = None,
           fts_weight: float = FTS_WEIGHT) -> list[SearchHit]:
    """Articles matching ``query``, best first, each as its best sentence (reads the index; never writes).

    ``fts_weight`` is for benchmarks/serve.py, which chooses the default on held-out queries."""
    if mode not in MODES:
        raise BadQuery(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}", code="bad_filter")
    f = filters or Filters()
    f.date_from, f.date_to = _check_date(f.date_from, "from"), _check_date(f.date_to, "to")
    terms = query_terms(query)
    want = limit + offset
    vec = _vectors(store) if mode != "fts" else None
    # The query's vector and its cosines run on another thread while SQLite ranks the keywords
    # (both release the GIL), so a hybrid search costs about the slower of the two, not their sum.
    cosines = _pool().submit(_cosines, vec, encoder or _default_encoder, query) if vec is not None else None
    # Several sentences of one article fill the FTS list; ask for enough to still have ``want`` articles.
    keywords = _fts_ranked if is_sqlite(store) else _pg_ranked
    fts = keywords(store.db, terms, f, max(CANDIDATES, 5 * want)) if mode != "vector" else []
    if cosines is None:
        ranked, cos = _fts_articles(store.db, fts, want), None
    else:
        cos = cosines.result()
        ranked = _combined(vec, fts, cos, fts_weight if mode == "hybrid" else 0.0, _allowed(store, vec, f), want)
    ranked = ranked[offset:want]
    fts_rank = {rowid: n for n, (rowid, _) in enumerate(fts, 1)}
    snippets = _snippets(store.db, terms, [r for r, _ in ranked if r in fts_rank]) if is_sqlite(store) else {}
    return [_hit(store.db, rowid, score, snippets.get(rowid), fts_rank.get(rowid), _vector_rank(vec, cos, rowid),
                 terms) for rowid, score in ranked]


def _fts_articles(db, fts: list[tuple[int, float]], want: int) -> list[tuple[int, float]]:
    """Keyword search alone: each article's best sentence, scored relative to the best match."""
    if not fts:
        return []
    top = fts[0][1] or 1.0
    article = dict(db.execute(f"SELECT rowid, article_id FROM search_sentences WHERE rowid IN "
                              f"({','.join('?' * len(fts))})", [r for r, _ in fts]))
    best: dict[str, tuple[int, float]] = {}
    for rowid, score in fts:
        best.setdefault(article[rowid], (rowid, score / top))
    return list(best.values())[:want]


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="storydesk-search")


def _cosines(vec: _Vectors, encoder: Encoder, query: str) -> np.ndarray:
    """Cosine of the query with every sentence (vectors are unit length), in ``vec.sent_ids`` order."""
    q = np.asarray(encoder([query[:MAX_QUERY_CHARS]]), dtype=np.float32)[0]
    return (vec.matrix @ q)[vec.sent_vec]


def _combined(vec: _Vectors, fts: list[tuple[int, float]], cos: np.ndarray, weight: float,
              allowed: Optional[np.ndarray], want: int) -> list[tuple[int, float]]:
    """Each article's best sentence by ``weight * bm25/best bm25 + (1 - weight) * cosine/best cosine``.

    Scores, not ranks, are fused: a story told by many near-identical articles fills every rank
    of the vector list with cosines a hair apart, and rank fusion cannot tell a hair from a gulf
    (that is what put hybrid below FTS alone). Each list is divided by its best score so the
    two are on one scale (Bruch et al. 2023, "An Analysis of Fusion Functions for Hybrid Retrieval").
    """
    kept = cos if allowed is None else cos[allowed]
    best_cos = float(kept.max()) if len(kept) else 0.0
    if not len(kept):
        return []
    score = (1.0 - weight) * cos / (best_cos if best_cos > 0 else 1.0)
    if allowed is not None:
        score[~allowed] = -np.inf
    if fts and weight:
        pos = np.array([_position(vec, r) for r, _ in fts], dtype=np.int64)
        bm25 = np.array([s for _, s in fts]) / (fts[0][1] or 1.0)
        has = pos >= 0  # a sentence indexed after the last embedding has no vector yet: it waits for one
        score[pos[has]] += weight * bm25[has]
    per_article = np.maximum.reduceat(score, vec.starts)
    n = min(want, int(np.isfinite(per_article).sum()))
    if n == 0:
        return []
    top = np.argpartition(-per_article, n - 1)[:n]
    top = top[np.argsort(-per_article[top], kind="stable")]
    ends = np.append(vec.starts[1:], len(score))
    out = []
    for a in top:
        best = vec.starts[a] + int(np.argmax(score[vec.starts[a]:ends[a]]))
        out.append((int(vec.sent_ids[best]), float(score[best])))
    return out


def _position(vec: _Vectors, rowid: int) -> int:
    return int(vec.position[rowid]) if rowid < len(vec.position) else -1


def _vector_rank(vec: Optional[_Vectors], cos: Optional[np.ndarray], rowid: int) -> Optional[int]:
    """1-based rank of the sentence among all sentences by cosine (None in keyword-only search)."""
    pos = _position(vec, rowid) if vec is not None and cos is not None else -1
    return int((cos > cos[pos]).sum()) + 1 if pos >= 0 else None


def _snippets(db, terms: list[str], rowids: list[int]) -> dict[int, str]:
    """FTS5 snippets of the shown sentences only (a snippet per match would cost more than the search)."""
    if not rowids:
        return {}
    sql = (f"SELECT rowid, snippet(search_fts, 0, '{_MARK_OPEN}', '{_MARK_CLOSE}', '\u2026', 24) FROM search_fts "
           f"WHERE search_fts MATCH ? AND rowid IN ({','.join('?' * len(rowids))})")
    return dict(db.execute(sql, [_match_expression(terms), *rowids]))


def _hit(db, rowid: int, score: float, snippet: Optional[str], fts_rank, vec_rank, terms) -> SearchHit:
    article_id, start, end, text, outlet, published, title, story = db.execute(
        'SELECT s.article_id, s.start, s."end", s.text, ar.outlet, ar.published, ar.title, '
        "(SELECT min(story_id) FROM search_story st WHERE st.article_id = s.article_id) "
        "FROM search_sentences s JOIN articles ar ON ar.id = s.article_id WHERE s.rowid=?", (rowid,)).fetchone()
    plain, marks = _unmark(snippet) if snippet else (text, _term_marks(text, terms))
    span = (start, end) if start >= 0 else (0, 0)
    return SearchHit(article_id=article_id, span=span, text=text, snippet=plain, marks=marks, story_id=story,
                     outlet=outlet, published=published, title=title, score=round(score, 6),
                     fts_rank=fts_rank, vector_rank=vec_rank)


def _unmark(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """Strip FTS5 snippet markers, returning the text and the marked offsets."""
    out, marks, start = [], [], None
    pos = 0
    for ch in snippet:
        if ch == _MARK_OPEN:
            start = pos
        elif ch == _MARK_CLOSE and start is not None:
            marks.append((start, pos))
            start = None
        else:
            out.append(ch)
            pos += 1
    return "".join(out), marks


def _term_marks(text: str, terms: list[str]) -> list[tuple[int, int]]:
    wanted = set(terms)
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group().casefold() in wanted]
