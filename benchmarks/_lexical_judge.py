"""The baseline rewrite judge: logistic regression over 25 lexical and embedding features.

This was storydesk's judge before the cross-encoder (77.0 % on MSRP, 5-fold CV);
``benchmarks/rewrite.py`` scores it in the same run so the gain is measured, not
claimed. Features: all-MiniLM-L6-v2 cosine, cosine of the words each side lacks,
word/bigram/character overlaps, length ratios and number/name mismatches.
"""
from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Optional

import numpy as np

from storydesk.models.embeddings import embed
from storydesk.text import normalise, words

_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_CAP = re.compile(r"\b[A-Z][a-zA-Z]+")

FEATURES = ["cos", "cos2", "jac_words", "jac_content", "contain_content", "jac_bigrams",
            "contain_bigrams", "len_ratio", "numbers_equal", "numbers_symdiff", "has_numbers",
            "len_diff", "jac_char3", "jac_char4", "seq_ratio", "numbers_differ", "numbers_max_unmatched",
            "numbers_min_unmatched", "caps_symdiff", "jac_caps", "char_len_diff", "diff_cos",
            "diff_max_len", "diff_min_len", "diff_one_empty"]


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    return frozenset(ENGLISH_STOP_WORDS)


def _jac(x: set, y: set) -> float:
    return len(x & y) / max(1, len(x | y))


def _contain(x: set, y: set) -> float:
    return len(x & y) / max(1, min(len(x), len(y)))


def _chars(s: str, n: int) -> set[str]:
    s = normalise(s)
    return {s[i:i + n] for i in range(len(s) - n + 1)}


def diff_texts(a: str, b: str) -> tuple[str, str]:
    """Content words of each sentence that the other lacks (what a rewrite changed)."""
    wa, wb = words(a), words(b)
    sa, sb, stop = set(wa), set(wb), _stopwords()
    return (" ".join(w for w in wa if w not in sb and w not in stop),
            " ".join(w for w in wb if w not in sa and w not in stop))


def pair_features(a: str, b: str, cos: float, diff_cos: float) -> list[float]:
    """Feature vector (see ``FEATURES``) of a sentence pair for the rewrite judge.

    Args:
        a, b: the two sentences.
        cos: cosine of their sentence embeddings.
        diff_cos: cosine of the embeddings of ``diff_texts(a, b)`` (1.0 if one is empty).
    """
    wa, wb = words(a), words(b)
    sa, sb = set(wa), set(wb)
    stop = _stopwords()
    ca, cb = sa - stop, sb - stop
    ba, bb = set(zip(wa, wa[1:])), set(zip(wb, wb[1:]))
    na = {x.replace(",", "") for x in _NUM.findall(a)}
    nb = {x.replace(",", "") for x in _NUM.findall(b)}
    pa, pb = set(_CAP.findall(a[1:])), set(_CAP.findall(b[1:]))
    da, db = diff_texts(a, b)
    la, lb = len(da.split()), len(db.split())
    return [
        cos, cos * cos, _jac(sa, sb), _jac(ca, cb), _contain(ca, cb), _jac(ba, bb), _contain(ba, bb),
        min(len(wa), len(wb)) / max(1, len(wa), len(wb)), float(na == nb), min(len(na ^ nb), 3),
        float(bool(na or nb)), abs(len(wa) - len(wb)) / 10,
        _jac(_chars(a, 3), _chars(b, 3)), _jac(_chars(a, 4), _chars(b, 4)),
        difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio(),
        float(bool(na ^ nb)), max(len(na - nb), len(nb - na)), min(len(na - nb), len(nb - na)),
        len(pa ^ pb), _jac(pa, pb), abs(len(a) - len(b)) / max(1, len(a), len(b)),
        diff_cos, max(la, lb), min(la, lb), float(la == 0 or lb == 0),
    ]


def features_for(pairs: list[tuple[str, str]], cos: np.ndarray, cache: Optional[dict] = None) -> np.ndarray:
    """Feature rows for sentence pairs whose embedding cosines are ``cos``."""
    diffs = [diff_texts(a, b) for a, b in pairs]
    both = [i for i, (da, db) in enumerate(diffs) if da and db]
    dcos = np.ones(len(pairs))
    if both:
        ea = embed([diffs[i][0] for i in both], cache)
        eb = embed([diffs[i][1] for i in both], cache)
        dcos[both] = (ea * eb).sum(1)
    return np.array([pair_features(a, b, float(c), float(d)) for (a, b), c, d in zip(pairs, cos, dcos)])
