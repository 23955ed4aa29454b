"""Hybrid search over stored sentences: SQLite FTS5 (bm25, matched words marked) fused with
embedding similarity, with filters by story, outlet, entity and date. A result is an
article, shown by its best sentence (the span a result links to).

:func:`update_index` is the only writer (called at the end of analysis): it
indexes articles not indexed yet, embeds only sentences never seen, and
rebuilds the story/entity filter tables only when that stage output changed,
so running it twice does nothing the second time. :func:`search` only reads.

On the PostgreSQL store the same tables hold the index, and PostgreSQL full-text search
(``to_tsvector('english')``, ``ts_rank``, a GIN expression index) stands in for FTS5:
ranking and fusion are the same; a word is marked in a result when it is a query word (no stemming).
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

from .errors import BadQuery, SearchIndexMismatch
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

Encoder = Callable[[list[str]], np.ndarray]


def _default_encoder(texts: list[str]) -> np.ndarray:
    from .models.embeddings import embed
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
    db, added, last = store.db, 0, -1
    while True:
        # From where the last batch ended: "vector_id IS NULL LIMIT n" alone re-scanned every filled
        # row each batch, quadratic in the store (minutes of a first analysis at 10,000 articles).
        rows = db.execute("SELECT rowid, text FROM search_sentences WHERE vector_id IS NULL AND rowid > ? "
                          "ORDER BY rowid LIMIT ?", (last, batch)).fetchall()
        if not rows:
            return added
        last = rows[-1][0]
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


_FILTER_KINDS = ("stories", "entities")
_FILTERS_STATE = "search.filters.by_story"


def _story_signatures(db) -> dict[str, str]:
    """Per story, what its story and entity records are now (replaced records get new rowids)."""
    rows = db.execute("SELECT story_id, kind, count(*), max(rowid) FROM records WHERE kind IN (?, ?) "
                      "GROUP BY story_id, kind ORDER BY story_id, kind", _FILTER_KINDS)
    out: dict[str, str] = {}
    for story_id, kind, count, top in rows:
        out[story_id] = out.get(story_id, "") + f"{kind}:{count}:{top};"
    return out


def _refresh_filters(store) -> bool:
    """Bring the article->story and article->entity tables up to date, story by story:
    only stories whose records changed since the last update are rewritten."""
    from .records import Entity, Story
    db = store.db
    now = _story_signatures(db)
    before = json.loads(store.get_state(_FILTERS_STATE) or b"{}")
    changed = sorted(sid for sid in set(now) | set(before) if now.get(sid) != before.get(sid))
    if not changed:
        return False
    with store.transaction():
        for sid in changed:
            db.execute("DELETE FROM search_story WHERE story_id=?", (sid,))
            db.execute("DELETE FROM search_entity WHERE story_id=?", (sid,))
            if sid not in now:
                continue
            db.executemany("INSERT OR IGNORE INTO search_story (article_id, story_id) VALUES (?,?)",
                           [(aid, s.id) for s in store.get_records("stories", Story, story_id=sid)
                            for aid in s.article_ids])
            db.executemany("INSERT OR IGNORE INTO search_entity (story_id, entity_id, name, article_id) "
                           "VALUES (?,?,?,?)", [(sid, e.id, e.name, m.article_id) for e in
                                                store.get_records("entities", Entity, story_id=sid)
                                                for m in e.mentions])
        store.put_state(_FILTERS_STATE, json.dumps(now, sort_keys=True).encode())
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


# --------------------------------------------------------------------------- keyword scores as arrays
BM25_K1, BM25_B = 1.2, 0.75  # the constants of FTS5's bm25()


@dataclass
class _Keywords:
    """FTS5's index as arrays: for each token, the sentences holding it and its bm25 weight in each
    (FTS5's own formula), so hybrid search sums a few slices instead of asking SQLite to score every
    match: on a store of one big story a common word matches a quarter of all sentences, and bm25()
    over them was two thirds of a search's time."""

    version: tuple
    tokenize: str  # the FTS5 tokenizer of search_fts (query words are tokenized the same way)
    column: dict[str, int]  # token -> its slice docs[starts[i]:starts[i + 1]]
    starts: np.ndarray
    docs: np.ndarray  # sentence rowids
    weights: np.ndarray  # idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / mean length))


_KEYWORDS: dict[str, _Keywords] = {}
_KLOCK = threading.Lock()


def _keywords(store, version: tuple) -> _Keywords:
    with _KLOCK:
        cached = _KEYWORDS.get(store.path)
        if cached is not None and cached.version == version:
            return cached
        db = store.db
        tokenize = _tokenize_spec(db)
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_fts_instance "
                   "USING fts5vocab(main, search_fts, instance)")
        rows = db.execute("SELECT term, doc, count(*) FROM temp.search_fts_instance GROUP BY term, doc").fetchall()
        column: dict[str, int] = {}
        term = np.fromiter((column.setdefault(r[0], len(column)) for r in rows), dtype=np.int64, count=len(rows))
        docs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        tf = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
        n_rows = db.execute("SELECT count(*) FROM search_fts_docsize").fetchone()[0] or 1
        length = np.bincount(docs, tf)  # tokens in each sentence, by rowid
        mean_length = length.sum() / n_rows
        hits = np.bincount(term, minlength=len(column))  # sentences holding each token
        idf = np.maximum(np.log((n_rows - hits + 0.5) / (hits + 0.5)), 1e-6)
        weights = idf[term] * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length[docs] / mean_length))
        starts = np.searchsorted(term, np.arange(len(column) + 1))  # rows come grouped by term
        _KEYWORDS[store.path] = cached = _Keywords(version, tokenize, column, starts, docs,
                                                   weights.astype(np.float32))
        return cached


_TOKENS: dict[tuple[str, str], Optional[str]] = {}
_TLOCK = threading.Lock()
_TOKENIZERS: dict[str, sqlite3.Connection] = {}  # tokenize spec -> an in-memory FTS5 table to ask


def _token(word: str, tokenize: str) -> Optional[str]:
    """The index token FTS5 makes of ``word`` (None unless exactly one), asked of FTS5 itself."""
    key = (tokenize, word)
    with _TLOCK:
        if key not in _TOKENS:
            db = _TOKENIZERS.get(tokenize)
            if db is None:
                db = _TOKENIZERS[tokenize] = sqlite3.connect(":memory:", check_same_thread=False,
                                                             isolation_level=None)
                db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{tokenize}')")
                db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
            db.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (word,))
            found = [r[0] for r in db.execute("SELECT term FROM v")]
            db.execute("DELETE FROM t")
            if len(_TOKENS) > 50_000:
                _TOKENS.clear()
            _TOKENS[key] = found[0] if len(found) == 1 else None
        return _TOKENS[key]


def _keyword_scores(store, vec: _Vectors, terms: list[str]) -> Optional[np.ndarray]:
    """bm25 of every sentence (in ``vec.sent_ids`` order; 0 = no word matches) as FTS5's bm25()
    would score ``_match_expression(terms)``, or None where only SQLite can say (a word that is
    not one token)."""
    kw = _keywords(store, vec.version)
    tokens = [_token(t, kw.tokenize) for t in terms]
    if any(t is None for t in tokens):
        return None
    slices = [slice(kw.starts[kw.column[t]], kw.starts[kw.column[t] + 1]) for t in tokens if t in kw.column]
    if not slices:
        return np.zeros(len(vec.sent_ids), dtype=np.float64)
    docs = np.concatenate([kw.docs[s] for s in slices])
    weights = np.concatenate([kw.weights[s] for s in slices])
    pos = np.where(docs < len(vec.position), vec.position[np.minimum(docs, len(vec.position) - 1)], -1)
    has = pos >= 0
    return np.bincount(pos[has], weights[has], minlength=len(vec.sent_ids))


def warm(store) -> None:
    """Build the in-memory vectors and keyword arrays now (seconds on a large store), so the
    first search after new articles does not wait for them."""
    vec = _vectors(store)
    if vec is not None and is_sqlite(store):
        _keywords(store, vec.version)


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
    want, sqlite = limit + offset, is_sqlite(store)
    vec = _vectors(store) if mode != "fts" else None
    # The query's vector and its cosines run on another thread while the keywords are scored
    # (both release the GIL), so a hybrid search costs about the slower of the two, not their sum.
    cosines = _pool().submit(_cosines, vec, encoder or _default_encoder, query) if vec is not None else None
    bm25 = _keyword_scores(store, vec, terms) if sqlite and vec is not None and mode == "hybrid" else None
    fts: list[tuple[int, float]] = []
    if bm25 is None and mode != "vector":
        # Several sentences of one article fill the list; ask for enough to still have ``want`` articles.
        fts = (_fts_ranked if sqlite else _pg_ranked)(store.db, terms, f, max(CANDIDATES, 5 * want))
    if cosines is None:
        ranked, cos = _fts_articles(store.db, fts, want), None
    else:
        cos = cosines.result()
        weight = fts_weight if mode == "hybrid" else 0.0
        ranked = _combined(vec, fts, cos, weight, _allowed(store, vec, f), want, bm25)
    ranked = ranked[offset:want]
    fts_rank = {rowid: n for n, (rowid, _) in enumerate(fts, 1)}
    keyword_rank = _ranker(vec, bm25) if bm25 is not None else fts_rank.get
    vector_rank = _ranker(vec, cos)
    marks = _token_marker(store, terms) if sqlite else (lambda text: _term_marks(text, terms))
    return [_hit(store.db, rowid, score, marks, keyword_rank(rowid), vector_rank(rowid)) for rowid, score in ranked]


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
    if vec.matrix.shape[1] != q.shape[0]:
        raise SearchIndexMismatch(
            f"the search index holds {vec.matrix.shape[1]}-dimension sentence vectors but the embedding model "
            f"gives {q.shape[0]}: the index was built with another model. Search by keywords (mode fts) "
            "or rebuild the index in a new store (storydesk ingest, then storydesk analyze)")
    return (vec.matrix @ q)[vec.sent_vec]


def _combined(vec: _Vectors, fts: list[tuple[int, float]], cos: np.ndarray, weight: float,
              allowed: Optional[np.ndarray], want: int, bm25: Optional[np.ndarray] = None) -> list[tuple[int, float]]:
    """Each article's best sentence by ``weight * bm25/best bm25 + (1 - weight) * cosine/best cosine``
    (bm25 of every sentence in ``bm25``, or of the ranked ones in ``fts``).

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
    if bm25 is not None and weight:
        kept_bm25 = bm25 if allowed is None else bm25[allowed]
        best = float(kept_bm25.max()) if len(kept_bm25) else 0.0
        score += weight * bm25 / (best or 1.0)
    elif fts and weight:
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


def _ranker(vec: Optional[_Vectors], scores: Optional[np.ndarray]) -> Callable[[int], Optional[int]]:
    """The 1-based rank of a sentence among all sentences by ``scores`` (None: not scored, or no match).
    The best thousand are sorted once, so a page of hits is not a pass over every sentence each."""
    if vec is None or scores is None or not len(scores):
        return lambda rowid: None
    k = min(len(scores), 1000)
    best = np.sort(np.partition(scores, len(scores) - k)[len(scores) - k:])  # ascending

    def rank(rowid: int) -> Optional[int]:
        pos = _position(vec, rowid)
        if pos < 0 or scores[pos] <= 0:
            return None
        value = scores[pos]
        above = len(best) - np.searchsorted(best, value, side="right") if value >= best[0] \
            else (scores > value).sum()  # anything above a top-k value is in the top k
        return int(above) + 1
    return rank


def _hit(db, rowid: int, score: float, marks: Callable[[str], list[tuple[int, int]]], fts_rank,
         vec_rank) -> SearchHit:
    article_id, start, end, text, outlet, published, title, story = db.execute(
        'SELECT s.article_id, s.start, s."end", s.text, ar.outlet, ar.published, ar.title, '
        "(SELECT min(story_id) FROM search_story st WHERE st.article_id = s.article_id) "
        "FROM search_sentences s JOIN articles ar ON ar.id = s.article_id WHERE s.rowid=?", (rowid,)).fetchone()
    span = (start, end) if start >= 0 else (0, 0)
    return SearchHit(article_id=article_id, span=span, text=text, snippet=text, marks=marks(text), story_id=story,
                     outlet=outlet, published=published, title=title, score=round(score, 6),
                     fts_rank=fts_rank, vector_rank=vec_rank)


def _token_marker(store, terms: list[str]) -> Callable[[str], list[tuple[int, int]]]:
    """Marks of the words FTS5 matches (``flooded`` for ``flood``): each word of the text is a match
    when FTS5's own tokenizer makes of it a token of the query. (FTS5's snippet() did the same in C
    at 0.4 ms a sentence, a third of a search.)"""
    spec = _tokenize_spec(store.db)
    wanted = {_token(t, spec) for t in terms} - {None}
    return lambda text: [(m.start(), m.end()) for m in _WORD.finditer(text) if _token(m.group(), spec) in wanted]


def _tokenize_spec(db) -> str:
    """The tokenizer search_fts was made with (migration 004)."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'search_fts'").fetchone()[0]
    return re.search(r"tokenize\s*=\s*'([^']*)'", sql).group(1)


def _term_marks(text: str, terms: list[str]) -> list[tuple[int, int]]:
    wanted = set(terms)
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group().casefold() in wanted]
