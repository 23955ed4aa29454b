"""A BERT encoder on ONNX Runtime, built from safetensors weights without torch.

The graph is written node by node with the ``onnx`` helper API from the numpy
tensors of a Hugging Face ``BertModel`` checkpoint (names as in
``model.safetensors``). It computes what ``transformers``' BERT computes in eval
mode: embeddings + LayerNorm, then per layer self-attention, residual +
LayerNorm, GELU (erf) feed-forward, residual + LayerNorm; then a masked mean
over the tokens and one of two heads (L2-normalised vector, or a linear logit).

Built files are cached under :func:`cache_dir`, named by a hash of the weights
and of :data:`GRAPH_VERSION`, and written atomically, so two worker processes
that build at once both end up reading a whole file.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

GRAPH_VERSION = "1"  # bump when the graph below changes: every cached file is then rebuilt
OPSET = 20  # Gelu is an ONNX op from opset 20
THREADS_ENV = "STORYDESK_ONNX_THREADS"
CACHE_ENV = "STORYDESK_CACHE"  # overrides the cache directory (else $XDG_CACHE_HOME/storydesk)
BATCH_TOKENS = 8192  # padded tokens per inference batch: bounds the attention tensors' memory
BATCH_ROWS = 128  # rows per batch, however short they are


@dataclass(frozen=True)
class BertShape:
    layers: int
    hidden: int
    heads: int
    eps: float = 1e-12

    @classmethod
    def of(cls, weights: dict[str, np.ndarray], config: dict) -> "BertShape":
        layers = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer."))
        return cls(layers, int(config["hidden_size"]), int(config["num_attention_heads"]),
                   float(config.get("layer_norm_eps", 1e-12)))


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file as numpy arrays (no torch)."""
    from safetensors.numpy import load_file
    return load_file(str(path))


def cache_dir() -> Path:
    """Where built ONNX files live: ``$STORYDESK_CACHE``, else ``$XDG_CACHE_HOME/storydesk``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "storydesk"


def threads() -> int:
    """Intra-op threads per session: ``$STORYDESK_ONNX_THREADS``, else 1 in a worker process
    (the engine runs one worker per core, so more threads would only contend) and every
    usable core in the main process."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            pass  # a typo in the variable must not stop an analysis: fall back to the default
    if multiprocessing.parent_process() is not None:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def file_digest(path: Path) -> str:
    """sha256 of a file, remembered beside the cache by (path, size, mtime) so a
    90 MB checkpoint is hashed once per install, not once per process."""
    st = path.stat()
    memo_path = cache_dir() / "digests.json"
    stamp = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if stamp in memo:
        return memo[stamp]
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    memo[stamp] = h.hexdigest()
    try:
        _atomic_write(memo_path, json.dumps(memo, indent=0).encode())
    except OSError:
        pass  # a read-only cache only costs the hash again next time
    return memo[stamp]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_file(name: str, key: str) -> Path:
    """Where the ONNX file of model ``name`` built from weights hashed ``key`` is cached."""
    return cache_dir() / f"{name}-{hashlib.sha256((GRAPH_VERSION + key).encode()).hexdigest()[:16]}.onnx"


def cached_session(name: str, key: str, build: Callable[[], "object"],
                   n_threads: Optional[int] = None) -> tuple["object", "str | bytes"]:
    """An ONNX Runtime session of the cached model, building the file on first use.

    Returns the session and what it was opened from: the file's path, or the
    serialised model itself when the cache directory cannot be written (a
    read-only home still works). A cached file that does not open (cut short by
    a full disk, say) is rebuilt once.
    """
    path = model_file(name, key)
    if path.exists():
        try:
            return open_session(str(path), n_threads), str(path)
        except Exception:  # onnxruntime raises its own unexported error classes
            path.unlink(missing_ok=True)
    data = build().SerializeToString()
    try:
        _atomic_write(path, data)
    except OSError:
        return open_session(data, n_threads), data
    return open_session(str(path), n_threads), str(path)


def open_session(model: "str | bytes", n_threads: Optional[int] = None):
    """An ONNX Runtime CPU session with all graph optimisations and ``n_threads`` intra-op threads."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n_threads or threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # warnings about unused initialisers are noise
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def load_tokenizer(path: Path, max_length: int):
    """The model's fast tokenizer, truncating to ``max_length`` word pieces and not padding
    (batches are padded here, after sorting by length)."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length, strategy="longest_first")
    return tok


def batches(encodings: Sequence, max_tokens: int = BATCH_TOKENS,
            max_rows: int = BATCH_ROWS) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """Model inputs in batches of similar length (sorted, so little padding), with
    the row indices each batch answers for."""
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    start = 0
    while start < len(order):
        end = start + 1
        # Sorted ascending: the last row of a batch is its longest.
        while (end < len(order) and end - start < max_rows
               and (end + 1 - start) * len(encodings[order[end]].ids) <= max_tokens):
            end += 1
        idx = order[start:end]
        yield idx, _pad([encodings[i] for i in idx])
        start = end


def _pad(encs: Sequence) -> dict[str, np.ndarray]:
    width = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encs):
        n = len(e.ids)
        ids[row, :n], types[row, :n], mask[row, :n] = e.ids, e.type_ids, 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class _Graph:
    """Accumulates nodes and initialisers with unique names."""

    def __init__(self):
        self.nodes, self.inits, self._n = [], [], 0

    def const(self, array: np.ndarray, name: str = "c") -> str:
        from onnx import numpy_helper
        self._n += 1
        full = f"{name}_{self._n}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), full))
        return full

    def op(self, kind: str, *inputs: str, **attrs) -> str:
        from onnx import helper
        self._n += 1
        out = f"{kind.lower()}_{self._n}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        # torch keeps Linear weights as (out, in); MatMul wants (in, out).
        return self.op("Add", self.op("MatMul", x, self.const(weight.T.astype(np.float32), name + "_w")),
                       self.const(bias.astype(np.float32), name + "_b"))

    def layer_norm(self, x: str, w: dict, prefix: str, eps: float) -> str:
        return self.op("LayerNormalization", x, self.const(w[prefix + ".weight"].astype(np.float32), prefix),
                       self.const(w[prefix + ".bias"].astype(np.float32), prefix + "_b"), axis=-1, epsilon=eps)


def build_encoder(w: dict[str, np.ndarray], shape: BertShape, head: str,
                  head_weights: Optional[tuple[np.ndarray, np.ndarray]] = None, name: str = "bert"):
    """The ONNX model of a BERT encoder with a mean-pooling head.

    Inputs ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, batch x tokens).
    ``head="normalised"``: output ``vectors`` (batch x hidden), each of L2 norm 1 (as
    sentence-transformers' Pooling + Normalize). ``head="linear"``: output ``logits``
    (batch x 1) of ``head_weights`` = (weight (1, hidden), bias (1,)) over the mean.
    """
    from onnx import TensorProto, helper
    g = _Graph()
    ids, mask, types = "input_ids", "attention_mask", "token_type_ids"
    x = _embeddings(g, w, shape, ids, types)
    maskf = g.op("Cast", mask, to=TensorProto.FLOAT)
    # Masked keys get the most negative float added before the softmax (as transformers does).
    inverted = g.op("Sub", g.const(np.array(1.0, np.float32), "one"), maskf)
    bias = g.op("Mul", g.op("Unsqueeze", inverted, g.const(np.array([1, 2], np.int64), "axes")),
                g.const(np.array(np.finfo(np.float32).min, np.float32), "neg"))
    for i in range(shape.layers):
        x = _layer(g, w, shape, f"encoder.layer.{i}", x, bias)
    col = g.op("Unsqueeze", maskf, g.const(np.array([2], np.int64), "axes"))
    total = g.op("ReduceSum", g.op("Mul", x, col), g.const(np.array([1], np.int64), "axes"), keepdims=0)
    count = g.op("ReduceSum", col, g.const(np.array([1], np.int64), "axes"), keepdims=0)
    mean = g.op("Div", total, g.op("Max", count, g.const(np.array(1e-9, np.float32), "tiny")))
    if head == "normalised":
        norm = g.op("ReduceL2", mean, g.const(np.array([1], np.int64), "axes"), keepdims=1)
        out = g.op("Div", mean, g.op("Max", norm, g.const(np.array(1e-12, np.float32), "eps")))
        out_name, out_shape = "vectors", ["batch", shape.hidden]
    elif head == "linear" and head_weights is not None:
        out = g.linear(mean, head_weights[0], head_weights[1], "head")
        out_name, out_shape = "logits", ["batch", 1]
    else:
        raise ValueError(f"unknown head {head!r} (or linear head without weights)")
    g.nodes.append(helper.make_node("Identity", [out], [out_name]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"]) for n in (ids, mask, types)]
    outputs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)]
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="storydesk", ir_version=9)


def _embeddings(g: _Graph, w: dict, shape: BertShape, ids: str, types: str) -> str:
    words = g.op("Gather", g.const(w["embeddings.word_embeddings.weight"].astype(np.float32), "words"), ids)
    # Positions 0..T-1 are the first T rows of the table: slice it to the batch's width.
    width = g.op("Shape", ids, start=1, end=2)
    pos = g.op("Slice", g.const(w["embeddings.position_embeddings.weight"].astype(np.float32), "pos"),
               g.const(np.array([0], np.int64), "zero"), width, g.const(np.array([0], np.int64), "axis"))
    typ = g.op("Gather", g.const(w["embeddings.token_type_embeddings.weight"].astype(np.float32), "types"), types)
    return g.layer_norm(g.op("Add", g.op("Add", words, pos), typ), w, "embeddings.LayerNorm", shape.eps)


def _layer(g: _Graph, w: dict, shape: BertShape, p: str, x: str, bias: str) -> str:
    heads, dim = shape.heads, shape.hidden // shape.heads
    split = g.const(np.array([0, 0, heads, dim], np.int64), "split")

    def project(name: str, perm: list[int]) -> str:
        lin = g.linear(x, w[f"{p}.attention.self.{name}.weight"], w[f"{p}.attention.self.{name}.bias"], name)
        return g.op("Transpose", g.op("Reshape", lin, split), perm=perm)

    q, k, v = project("query", [0, 2, 1, 3]), project("key", [0, 2, 3, 1]), project("value", [0, 2, 1, 3])
    scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), g.const(np.array(dim ** -0.5, np.float32), "scale")), bias)
    ctx = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged = g.op("Reshape", g.op("Transpose", ctx, perm=[0, 2, 1, 3]),
                  g.const(np.array([0, 0, shape.hidden], np.int64), "merge"))
    attn = g.linear(merged, w[f"{p}.attention.output.dense.weight"], w[f"{p}.attention.output.dense.bias"], "attn_out")
    x = g.layer_norm(g.op("Add", attn, x), w, f"{p}.attention.output.LayerNorm", shape.eps)
    hidden = g.op("Gelu", g.linear(x, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"], "ffn_in"))
    out = g.linear(hidden, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], "ffn_out")
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", shape.eps)
