"""The rewrite judge: the shipped cross-encoder, its weights file and its verdict cache."""
from __future__ import annotations

import numpy as np
import pytest

from storydesk.errors import JudgeWeightsMissing
from storydesk.models.judge import judge_pairs
from storydesk.models.judge_torch import JudgeConfig, RewriteJudge, train
from storydesk.models import judge as onnx_judge

MILL = "The mill employs about 400 people in the valley."
REWORDED = "About 400 people in the valley work at the mill."
UNRELATED = "Shopkeepers offered coffee to firefighters during the afternoon."
TOLD = "Fire chief Amos Tielman said 62 workers were evacuated from the mill on Monday."
OTHER_FACT = "Workers at the mill gathered on Monday evening to ask when their wages would be paid."

pytestmark = pytest.mark.slow


def test_shipped_judge_accepts_a_rewrite_and_rejects_other_facts_of_the_same_event():
    p = judge_pairs([(MILL, REWORDED), (MILL, UNRELATED), (TOLD, OTHER_FACT)])
    assert p[0] > 0.5
    assert p[1] < 0.5 and p[2] < p[0]


def test_judge_is_symmetric():
    p = judge_pairs([(MILL, REWORDED), (REWORDED, MILL)])
    assert p[0] == pytest.approx(p[1], abs=1e-6)


def test_verdicts_are_cached_per_run(monkeypatch):
    calls = []

    class Counting:
        def proba(self, pairs, orders=2):
            calls.append(list(pairs))
            return np.full(len(pairs), 0.9)

    monkeypatch.setattr(onnx_judge, "get_judge", lambda: Counting())
    cache: dict = {}
    judge_pairs([(MILL, REWORDED), (MILL, UNRELATED), (MILL, REWORDED)], cache)
    again = judge_pairs([(MILL, UNRELATED), (TOLD, OTHER_FACT)], cache)
    assert calls == [[(MILL, REWORDED), (MILL, UNRELATED)], [(TOLD, OTHER_FACT)]]
    assert list(again) == [0.9, 0.9]


def test_trained_weights_round_trip_through_the_file(tmp_path):
    pytest.importorskip("torch", reason="training needs the train extra (requirements-train.txt)")
    pairs = [(MILL, REWORDED), (MILL, UNRELATED), (TOLD, OTHER_FACT), (REWORDED, MILL)] * 2
    trained = train(pairs, [1, 0, 0, 1] * 2, JudgeConfig(rank=2, epochs=1, batch_size=4))
    path = tmp_path / "judge.safetensors"
    trained.save(path)
    loaded = RewriteJudge(JudgeConfig(rank=2, seed=7)).load(path)
    assert np.allclose(loaded.proba(pairs[:3]), trained.proba(pairs[:3]), atol=2e-3)


def test_missing_or_mismatched_weights_say_how_to_fix(tmp_path):
    pytest.importorskip("torch", reason="training needs the train extra (requirements-train.txt)")
    with pytest.raises(JudgeWeightsMissing, match="training/train_judge.py"):
        RewriteJudge(JudgeConfig(rank=2)).load(tmp_path / "absent.safetensors")
    RewriteJudge(JudgeConfig(rank=2)).save(tmp_path / "r2.safetensors")
    with pytest.raises(JudgeWeightsMissing, match="another layout"):
        RewriteJudge(JudgeConfig(rank=4)).load(tmp_path / "r2.safetensors")


def test_merged_adapters_give_the_same_verdicts():
    pytest.importorskip("torch", reason="training needs the train extra (requirements-train.txt)")
    pairs = [(MILL, REWORDED), (MILL, UNRELATED), (TOLD, OTHER_FACT)]
    trained = train(pairs * 2, [1, 0, 0] * 2, JudgeConfig(rank=2, epochs=1, batch_size=3))
    before = trained.proba(pairs)
    assert np.allclose(trained.merge_adapters().proba(pairs), before, atol=1e-5)
    assert not any(hasattr(m, "A") for m in trained.encoder.modules())


