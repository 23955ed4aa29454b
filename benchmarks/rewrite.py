"""The sentence rewrite judge on MSRP: 5-fold cross-validated accuracy and F1 on 4,076 pairs.

The judge (storydesk.provenance) is a logistic regression over 25 features of a
sentence pair: all-MiniLM-L6-v2 cosine, cosine of the words each side lacks,
word/bigram/character overlaps, length ratios and number/name mismatches.
Published anchors (MSRP *test* set; ours is cross-validated on the train file):
majority class 66.5 % accuracy; Madnani et al. 2012: 77.4 % / 84.1 F1.

Run: ``python benchmarks/rewrite.py`` (add ``--write`` to retrain on all pairs and
write ``storydesk/data/rewrite_judge.json``, the weights storydesk ships).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "msrp" / "msr_paraphrase_train.txt"
WEIGHTS = ROOT / "storydesk" / "data" / "rewrite_judge.json"

from storydesk.embed import embed  # noqa: E402
from storydesk.provenance import FEATURES, features_for  # noqa: E402

C = 0.1  # L2 strength of the logistic regression (fixed, not tuned on the folds)


def load_pairs() -> tuple[list[tuple[str, str]], np.ndarray]:
    pairs, labels = [], []
    with DATA.open(encoding="utf-8-sig") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5:
                labels.append(int(parts[0]))
                pairs.append((parts[3], parts[4]))
    return pairs, np.array(labels)


def featurise(pairs: list[tuple[str, str]]) -> np.ndarray:
    cache: dict = {}
    va = embed([a for a, _ in pairs], cache)
    vb = embed([b for _, b in pairs], cache)
    return features_for(pairs, (va * vb).sum(1), cache)


def model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))


def evaluate(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """5-fold stratified CV of the judge and of a cosine-only threshold; primary = accuracy."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    pred = cross_val_predict(model(), X, y, cv=folds)
    cos_pred = cross_val_predict(model(), X[:, :1], y, cv=folds)
    return {"primary": accuracy_score(y, pred), "accuracy": accuracy_score(y, pred), "f1": f1_score(y, pred),
            "cos_only_accuracy": accuracy_score(y, cos_pred), "cos_only_f1": f1_score(y, cos_pred),
            "majority_accuracy": max(y.mean(), 1 - y.mean())}


def write_weights(X: np.ndarray, y: np.ndarray) -> None:
    pipe = model().fit(X, y)
    scaler, lr = pipe[0], pipe[1]
    data = {"_doc": "Rewrite judge: logistic regression over storydesk.provenance.FEATURES, trained on all "
                    "4,076 MSRP train pairs by benchmarks/rewrite.py --write. "
                    "p = sigmoid(((x - mean) / scale) . coef + intercept).",
            "features": FEATURES, "mean": [round(v, 6) for v in scaler.mean_],
            "scale": [round(v, 6) for v in scaler.scale_], "coef": [round(v, 6) for v in lr.coef_[0]],
            "intercept": round(float(lr.intercept_[0]), 6)}
    WEIGHTS.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {WEIGHTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="retrain on all pairs and write the shipped weights")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (MSRP lives in ../shared/data/msrp)")
        return
    pairs, y = load_pairs()
    t = time.perf_counter()
    X = featurise(pairs)
    secs = time.perf_counter() - t
    m = evaluate(X, y)
    print(f"MSRP train file, {len(y)} pairs ({y.mean():.1%} positive), 5-fold stratified CV (seed 0)")
    print(f"{'system':42} {'accuracy':>9} {'F1':>6}")
    print(f"{'majority class (this file)':42} {m['majority_accuracy']:9.1%} {'':>6}")
    print(f"{'majority class (published, test)':42} {0.665:9.1%} {'':>6}")
    print(f"{'Madnani et al. 2012 (published, test)':42} {0.774:9.1%} {84.1:6.1f}")
    print(f"{'MiniLM cosine only + LR (CV)':42} {m['cos_only_accuracy']:9.1%} {m['cos_only_f1'] * 100:6.1f}")
    print(f"{'storydesk rewrite judge (CV)':42} {m['accuracy']:9.1%} {m['f1'] * 100:6.1f}")
    print(f"primary: accuracy {m['accuracy']:.3f} (target >= 0.80); features for {len(y)} pairs in {secs:.0f} s")
    if args.write:
        write_weights(X, y)


if __name__ == "__main__":
    main()
