"""Ingest + clean speed: articles/s and MB/s.

Corpora: the five seeds replicated x200 (each copy with its own outlet header, so each is a new
article), ECB+ (982 docs, written as one JSONL file), and one JSONL file of 1k, 10k and 50k entries
made of ECB+ texts, each copy with its own outlet (so its own article id). All from ../shared;
skipped when absent. Wall and CPU seconds side by side (the machine may be shared).
Target (issue 10) for the JSONL sizes: >= 300 articles/s, flat within 1.5x from 1k to 50k.
Run: python benchmarks/ingest.py [--sizes 1000,10000,50000]
"""
from __future__ import annotations

import argparse
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


def ecb_sized_jsonl(src: Path, out: Path, entries: int) -> int:
    """``entries`` ECB+ texts as one JSONL file: the 900-odd docs with text, over and over, copy k
    with outlet "<doc> k" (a new article id each time); return bytes written."""
    docs = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()]
    docs = [d for d in docs if d["text"].strip()]
    with out.open("w", encoding="utf-8") as fh:
        for i in range(entries):
            doc, copy = docs[i % len(docs)], i // len(docs)
            fh.write(json.dumps({"title": doc["title"], "text": doc["text"], "source": f"{doc['doc_id']} {copy}"}))
            fh.write("\n")
    return out.stat().st_size


def measure(inputs: list[str], nbytes: int, workdir: Path) -> dict:
    """Ingest into a fresh store; return the metrics (primary: articles_per_s, by wall time)."""
    with SQLiteStore(str(workdir / f"bench{time.time_ns()}.db")) as store:
        start, cpu = time.perf_counter(), time.process_time()
        report = ingest(inputs, store)
        seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    added = report.count("added")
    return {"articles": added, "failed": report.count("failed"), "seconds": seconds, "cpu_seconds": cpu_s,
            "articles_per_s": added / seconds, "articles_per_cpu_s": added / cpu_s,
            "mb_per_s": nbytes / 1e6 / seconds, "primary": "articles_per_s"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000", help="entries of the one-file JSONL runs")
    args = ap.parse_args()
    rows = []
    headers = ["corpus", "articles", "failed", "wall s", "CPU s", "articles/s", "articles/CPU s", "MB/s"]
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
        print_table("ingest + clean + store (1 process)", headers, rows)
        if ecb:
            sized_jsonl(ecb, work, [int(n) for n in args.sizes.split(",")], headers)


def sized_jsonl(ecb: Path, work: Path, sizes: list[int], headers: list[str]) -> None:
    """One JSONL file of each size: articles/s should not fall as the file grows."""
    rows, rates = [], []
    for n in sizes:
        path = work / f"ecb_{n}.jsonl"
        nbytes = ecb_sized_jsonl(ecb, path, n)
        m = measure([str(path)], nbytes, work)
        path.unlink()
        rates.append((m["articles_per_s"], m["articles_per_cpu_s"]))
        rows.append([f"ECB+ texts, one JSONL of {n:,} ({nbytes / 1e6:.0f} MB)", *_row(m)])
    print_table("one JSONL file as it grows (target >= 300 articles/s, flat within 1.5x)", headers, rows)
    wall, cpu = [r[0] for r in rates], [r[1] for r in rates]
    print(f"smallest/largest rate: wall {wall[0] / wall[-1]:.2f}x, CPU {cpu[0] / cpu[-1]:.2f}x; "
          f"lowest: {min(wall):.0f} articles/s wall, {min(cpu):.0f} per CPU s")


def _row(m: dict) -> list:
    return [m["articles"], m["failed"], m["seconds"], m["cpu_seconds"], m["articles_per_s"],
            m["articles_per_cpu_s"], m["mb_per_s"]]


if __name__ == "__main__":
    main()
