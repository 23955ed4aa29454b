"""The rewrite judge (compatibility module): is one sentence rewritten from another?

Inference lives in :mod:`storydesk.models.judge` (ONNX Runtime, no torch);
training and the torch reference in :mod:`storydesk.models.judge_torch` (the
``train`` extra). Callers keep importing from here.
"""
from __future__ import annotations

from .errors import JudgeWeightsMissing
from .models.judge import CACHE_KEY, WEIGHTS, OnnxJudge, get_judge, judge_pairs
from .models.judge_torch import JudgeConfig, RewriteJudge, train  # torch loads only when these are used

__all__ = ["CACHE_KEY", "WEIGHTS", "JudgeConfig", "JudgeWeightsMissing", "OnnxJudge", "RewriteJudge",
           "get_judge", "judge_pairs", "train"]
