"""Train the shipped rewrite judge on storydesk's own sentence pairs.

The pairs in ``training/rewrite_pairs.jsonl`` were written for this project
(fictional people, places and outlets; ``{"a", "b", "label", "kind"}`` per line);
the judge learns whether B is *derived* from A (see ``NOT_DERIVED``).
MSRP is *not* used: its licence allows evaluation only, so it serves as the
held-out test in ``benchmarks/rewrite.py`` and never as training data for the
weights that ship.

Run: ``python training/train_judge.py`` (5 to 15 minutes on 2 cores); it writes
``storydesk/data/rewrite_judge.safetensors``.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storydesk.models.judge import WEIGHTS  # noqa: E402
from storydesk.models.judge_torch import JudgeConfig, train  # noqa: E402

PAIRS = ROOT / "training" / "rewrite_pairs.jsonl"
# The judge answers "is B rewritten from A?", not "does B state the same facts?".
# A sentence copied with one figure, name, outcome or hedge changed *is* derived
# (the claims and quotes stages flag what changed), as is a cut-down or extended
# rewrite. These kinds are what is not derived: the same event told through
# other facts, background or reactions, another event of the same kind.
NOT_DERIVED = {"neg_same_event_other_fact", "neg_background", "neg_reaction", "neg_other_event",
               "neg_unrelated"}


def load(path: Path) -> tuple[list[tuple[str, str]], list[int]]:
    """Pairs and "derived" targets from a JSONL file of ``{"a", "b", "label", "kind"}`` rows."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["a"], r["b"]) for r in rows], [int(r["label"] or r["kind"] not in NOT_DERIVED) for r in rows]


def with_unrelated(pairs: list[tuple[str, str]], labels: list[int], share: float = 0.25,
                   seed: int = 0) -> tuple[list[tuple[str, str]], list[int]]:
    """Add negatives that pair one row's A with another row's B.

    The written negatives are mostly hard ones (many shared words, one fact
    changed); without easy ones the judge would learn that few shared words
    means a rewrite.
    """
    rng = random.Random(seed)
    n = int(len(pairs) * share)
    picks = [(rng.randrange(len(pairs)), rng.randrange(len(pairs))) for _ in range(n)]
    extra = [(pairs[i][0], pairs[j][1]) for i, j in picks if i != j]
    return pairs + extra, labels + [0] * len(extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    pairs, labels = with_unrelated(*load(args.pairs))
    t = time.perf_counter()
    judge = train(pairs, labels, JudgeConfig(), log=print)
    judge.save(args.out)
    print(f"trained on {len(pairs)} pairs ({sum(labels)} rewrites) in {time.perf_counter() - t:.0f} s; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
