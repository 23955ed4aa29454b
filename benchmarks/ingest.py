"""Ingest + clean speed: articles/s and MB/s.

Corpora: the five seeds replicated x200 (each copy with its own outlet header, so each is a new
article), and ECB+ (982 docs, written as one JSONL file). Both from ../shared; skipped when absent.
Run: python benchmarks/ingest.py
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from _common import print_table, shared

from storydesk.ingest import ingest
from storydesk.store import SQLiteStore


def replicate_seeds(seeds: Path, out: Path, copies: int) -> int:
    """Write ``copies`` of every seed, each with a distinct outlet header; return bytes written."""
    total = 0
    for n in range(copies):
        for path in sorted(seeds.glob("*.txt")):
            data = f"source: outlet-{n}\n".encode() + path.read_bytes()
            (out / f"{n:04d}_{path.name}").write_bytes(data)
            total += len(data)
    return total


def ecb_jsonl(src: Path, out: Path) -> int:
    """ECB+ docs as a JSONL dump (title, text, source = topic)."""
    lines = []
    for line in src.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        lines.append(json.dumps({"title": doc["title"], "text": doc["text"], "source": doc["doc_id"]}))
    out.write_text("\n".join(lines), encoding="utf-8")
    return out.stat().st_size


def measure(inputs: list[str], nbytes: int, workdir: Path) -> dict:
    """Ingest into a fresh store; return the metrics (primary: articles_per_s)."""
    with SQLiteStore(str(workdir / f"bench{time.time_ns()}.db")) as store:
        start = time.perf_counter()
        report = ingest(inputs, store)
        seconds = time.perf_counter() - start
    added = report.count("added")
    return {"articles": added, "failed": report.count("failed"), "seconds": seconds,
            "articles_per_s": added / seconds, "mb_per_s": nbytes / 1e6 / seconds, "primary": "articles_per_s"}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if seeds := shared("seeds"):
            folder = work / "seeds"
            folder.mkdir()
            nbytes = replicate_seeds(seeds, folder, 200)
            rows.append(["seeds x200 (.txt)", *_row(measure([str(folder)], nbytes, work))])
        if ecb := shared("data", "ecbplus", "ecbplus_docs.jsonl"):
            path = work / "ecb.jsonl"
            nbytes = ecb_jsonl(ecb, path)
            rows.append(["ECB+ (982 docs, JSONL)", *_row(measure([str(path)], nbytes, work))])
            empty = sum(not json.loads(ln)["text"].strip() for ln in ecb.read_text(encoding="utf-8").splitlines())
            print(f"note: {empty} ECB+ docs have an empty text field (title only); ingest reports them as failed")
    print_table("ingest + clean + store (1 process)", ["corpus", "articles", "failed", "s", "articles/s", "MB/s"], rows)


def _row(m: dict) -> list:
    return [m["articles"], m["failed"], m["seconds"], m["articles_per_s"], m["mb_per_s"]]


if __name__ == "__main__":
    main()
