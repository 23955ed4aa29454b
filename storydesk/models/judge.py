"""The rewrite judge on ONNX Runtime: is one sentence rewritten from (derived from) another?

A cross-encoder: the all-MiniLM-L6-v2 encoder reads both sentences together
and a linear head over its mean-pooled tokens gives the logit of a rewrite. The
fine-tuned numbers ship in ``storydesk/data/rewrite_judge.safetensors`` (LoRA
factors, biases, layer norms and the head; see :mod:`.judge_torch` for training);
here they are folded into the packaged base weights with numpy
(``W + scale * B @ A``) and the result is built into an ONNX graph, cached by
the hash of both files. Verdicts equal the torch judge's (``tests/test_models.py``).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import JudgeWeightsMissing
from . import bert_onnx
from .embeddings import base_weights, fingerprint, tokenizer_path

WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "rewrite_judge.safetensors"
CACHE_KEY = "rewrite_judge"  # key of the verdict cache inside ``analysis.cache``
PIPELINE_ORDERS = 1  # one pass per pair: the two-order average changed 0 alignments (benchmarks/provenance.py)
MAX_TOKENS = 128  # word pieces for both sentences together (as in training)
LORA_SCALE = 2.0  # the adapters' scale when the file's metadata does not say
_judge = None
_lock = threading.Lock()


def read_judge_file(path: Path = WEIGHTS) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (as float32) and metadata of a judge weights file."""
    from safetensors import safe_open
    if not path.exists():
        raise JudgeWeightsMissing(f"{path} not found")
    try:
        with safe_open(str(path), framework="np") as f:
            return {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}, dict(f.metadata() or {})
    except (OSError, ValueError) as exc:
        raise JudgeWeightsMissing(f"{path.name} is unreadable: {exc}") from exc


def _base_name(name: str) -> str:
    """Map a trained tensor's name onto the checkpoint's (our LoRA wrapper's and peft's names)."""
    # Our wrapper names the encoder "encoder."; peft wraps it as "base_model.model.".
    for prefix in ("base_model.model.", "encoder."):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    for wrapped in (".base_layer.", ".base."):
        name = name.replace(wrapped, ".")
    return name.replace(".lora_A.weight", ".A").replace(".lora_B.weight", ".B")


def fold(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray],
         scale: float = LORA_SCALE) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Base weights with the trained tensors put in and each LoRA update folded in, and the head."""
    w = dict(base)
    factors: dict[str, dict[str, np.ndarray]] = {}
    head = (tuned.get("head.weight"), tuned.get("head.bias"))
    if head[0] is None or head[1] is None:
        raise JudgeWeightsMissing("the file has no head.weight/head.bias: it was trained for another layout")
    for name, tensor in tuned.items():
        if name.startswith("head."):
            continue
        key = _base_name(name)
        module, _, part = key.rpartition(".")
        if part in ("A", "B"):
            factors.setdefault(module, {})[part] = tensor
        elif key in w and w[key].shape == tensor.shape:
            w[key] = tensor
        else:
            raise JudgeWeightsMissing(f"{name} does not fit all-MiniLM-L6-v2: trained for another layout")
    for module, ab in factors.items():
        target = w.get(module + ".weight")
        if set(ab) != {"A", "B"} or target is None or (ab["B"] @ ab["A"]).shape != target.shape:
            raise JudgeWeightsMissing(f"adapter {module} does not fit: trained for another layout")
        w[module + ".weight"] = target + (ab["B"] @ ab["A"]) * np.float32(scale)
    return w, head


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class OnnxJudge:
    """Tokenizer + ONNX session of the folded cross-encoder."""

    def __init__(self, path: Path = WEIGHTS, n_threads: Optional[int] = None):
        self.path = path
        if not path.exists():
            raise JudgeWeightsMissing(f"{path} not found")
        key = fingerprint() + bert_onnx.file_digest(path)
        self.tokenizer = bert_onnx.load_tokenizer(tokenizer_path(), MAX_TOKENS)
        self.session, self.onnx = bert_onnx.cached_session("rewrite-judge", key, self._build, n_threads)

    def _build(self):
        tuned, meta = read_judge_file(self.path)
        base, shape, _ = base_weights()
        folded, head = fold(base, tuned, float(meta.get("scale", LORA_SCALE)))
        return bert_onnx.build_encoder(folded, shape, "linear", head, name="rewrite-judge")

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One logit per (a, b) pair, read in that order."""
        out = np.zeros(len(pairs), dtype=np.float32)
        if not pairs:
            return out
        encodings = self.tokenizer.encode_batch([(a, b) for a, b in pairs])
        for idx, feed in bert_onnx.batches(encodings):
            out[idx] = self.session.run(["logits"], feed)[0][:, 0]
        return out

    def proba(self, pairs: Sequence[tuple[str, str]], batch_size: int = 64, orders: int = 2) -> np.ndarray:
        """Rewrite probability per pair.

        ``orders=2`` (the reference, equal to the torch judge) averages both orders;
        ``orders=1`` reads each pair once, in a fixed order (the smaller text first), so
        it is still symmetric and costs half (what the pipeline uses; benchmarks/rewrite.py
        measures both). ``batch_size`` is kept for compatibility; batches are sized by padded tokens.
        """
        pairs = list(pairs)
        if orders == 1:
            return _sigmoid(self.logits([(a, b) if a <= b else (b, a) for a, b in pairs]).astype(np.float64))
        both = self.logits(pairs + [(b, a) for a, b in pairs]).astype(np.float64)
        n = len(pairs)
        return (_sigmoid(both[:n]) + _sigmoid(both[n:])) / 2


def get_judge() -> OnnxJudge:
    """The shipped judge, loaded once per process."""
    global _judge
    if _judge is None:
        with _lock:
            if _judge is None:
                _judge = OnnxJudge()
    return _judge


def judge_pairs(pairs: Sequence[tuple[str, str]], cache: Optional[dict] = None) -> np.ndarray:
    """Probability that each (a, b) sentence pair is a rewrite, with the shipped judge.

    ``cache`` (e.g. ``analysis.cache``) keeps each pair's verdict for the run, so a
    story can be judged in one batch up front and read back pair by pair.
    """
    seen = cache.setdefault(CACHE_KEY, {}) if cache is not None else {}
    todo = list(dict.fromkeys(p for p in pairs if p not in seen))
    if todo:
        seen.update(zip(todo, get_judge().proba(todo, orders=PIPELINE_ORDERS)))
    return np.array([seen[p] for p in pairs], dtype=float)
