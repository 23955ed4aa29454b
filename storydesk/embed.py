"""Sentence embeddings (compatibility module): all-MiniLM-L6-v2 vectors and their caches.

The code lives in :mod:`storydesk.models.embeddings` (ONNX Runtime, no torch);
callers keep importing :func:`embed` and :func:`get_model` from here.
"""
from __future__ import annotations

from .errors import EmbeddingModelMissing
from .models.embeddings import (CACHE_KEY, DIM, MAX_CACHE, SentenceEncoder, VectorStore, embed, get_model,
                                model_path, vector_key)

__all__ = ["CACHE_KEY", "DIM", "MAX_CACHE", "EmbeddingModelMissing", "SentenceEncoder", "VectorStore", "embed",
           "get_model", "model_path", "vector_key"]
