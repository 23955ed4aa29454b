"""Scale: store write throughput (SQLite vs PostgreSQL), WARC ingest records/s (one process vs a
LocalCluster of 2 workers), peak memory per worker, and, where the engine exists, analysis of
N articles single-process vs --cluster local:2 with its serial share and an Amdahl projection.

Data is generated (benchmarks/_crawl.py), never fetched. PostgreSQL parts need a server:
STORYDESK_BENCH_PG or STORYDESK_TEST_PG (`eval "$(PG_DURABLE=1 .ci/pg-start)"` starts one with
fsync on); they are skipped with a message otherwise. The machine has 2 cores shared with
other work: every table prints wall and CPU seconds side by side, and ratios from one run.

Analysis: N articles of real news text (ECB+ and PolNeAR, replicated with edits as in
benchmarks/engine.py) analysed by `storydesk analyze --jobs 1` and `--cluster local:2`, each on a
copy of one ingested store. The main process's parts are timed (benchmarks/_analyze_timed.py): what
it does outside the parallel map (clustering, store writes, search index) is the serial share, from
which the Amdahl speed-up at more workers is *projected*, not measured.

Run: python benchmarks/scale.py [--warc-files 8 --warc-pages 200] [--rows 5000] [--size 10000]
                                [--skip store,warc,analyze] [--configs 0,1,2,3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table
from _crawl import article_html, make_crawl
from engine import cli, load_texts, replicate, timed, write_jsonl

from storydesk.records import Article, IngestedRecord, Source, Story
from storydesk.store import open_store


def pg_url() -> str | None:
    url = os.environ.get("STORYDESK_BENCH_PG") or os.environ.get("STORYDESK_TEST_PG")
    if not url:
        print("skip PostgreSQL: set STORYDESK_BENCH_PG (eval \"$(PG_DURABLE=1 .ci/pg-start)\" starts a server)")
    return url


def fresh_pg(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
        settings = [admin.execute(f"SHOW {s}").fetchone()[0] for s in ("fsync", "synchronous_commit")]
    print(f"PostgreSQL {name}: fsync={settings[0]} synchronous_commit={settings[1]}")
    return url.rsplit("/", 1)[0] + "/" + name


def cpu() -> float:
    t = os.times()
    return t.user + t.system


# -- store writes -------------------------------------------------------------------
def synthetic_articles(n: int, seed: int = 1) -> list[Article]:
    import random

    rng, out = random.Random(seed), []
    for i in range(n):
        text = article_html(rng, i)[0].split("<article>")[1].split("</article>")[0]
        out.append(Article(id=Article.make_id(text, f"outlet {i % 40}"), source=Source("text"), text=text,
                           outlet=f"outlet {i % 40}", title=f"Report {i}"))
    return out


def store_writes(targets: dict[str, str], rows: int) -> None:
    arts = synthetic_articles(rows)
    table = []
    for name, target in targets.items():
        with open_store(target) as store:
            t0, c0 = time.perf_counter(), cpu()
            for a in arts[: rows // 5]:  # one transaction per article: the serial ingest path
                store.add_article(a, a.text.encode())
            one = (rows // 5) / (time.perf_counter() - t0)
            t1 = time.perf_counter()
            rest = arts[rows // 5:]
            for start in range(0, len(rest), 100):  # batches of 100: the cluster ingest path
                chunk = rest[start:start + 100]
                marks = [IngestedRecord(f"k{a.id}", "bench", a.id) for a in chunk]
                store.add_articles([(a, a.text.encode()) for a in chunk], marks)
            batched = len(rest) / (time.perf_counter() - t1)
            t2 = time.perf_counter()
            recs = [Story(id=f"s{i}", label=f"story {i}", article_ids=[arts[i].id]) for i in range(rows)]
            for start in range(0, rows, 1000):
                store.put_records("stories", recs[start:start + 1000])
            records = rows / (time.perf_counter() - t2)
            t3 = time.perf_counter()
            back = len(store.articles())
            read = back / (time.perf_counter() - t3)
            table.append([name, round(one), round(batched), round(records), round(read),
                          f"{time.perf_counter() - t0:.1f}", f"{cpu() - c0:.1f}"])
    print_table(f"Store writes, {rows} articles (+ marks) and {rows} records; rows/s",
                ["store", "article/txn", "articles batched", "records", "articles read", "wall s",
                 "client CPU s"], table)


# -- WARC ingest ----------------------------------------------------------------------
def warc_ingest(files: int, pages: int, pg: str | None) -> None:
    from storydesk.cluster import DaskExecutor, SerialExecutor
    from storydesk.ingest import ingest

    work = Path(tempfile.mkdtemp(prefix="scale-warc-"))
    try:
        crawl = make_crawl(work / "crawl", files, pages, seed=5)
        inputs = [str(p) for p in crawl.files]
        print(f"\ncrawl: {files} files, {crawl.records} records ({crawl.html_pages} HTML pages, "
              f"{crawl.distinct_articles} distinct articles), {crawl.bytes / 1e6:.1f} MB gzipped")
        rows, base = [], None
        t0 = time.perf_counter()
        dask = DaskExecutor("local:2")
        startup = time.perf_counter() - t0
        warm = make_crawl(work / "warm", 2, 8, seed=99)  # imports and first parses, here and on the workers
        for executor in (None, dask):
            with open_store(str(work / "warm.db")) as store:
                ingest([str(p) for p in warm.files], store, executor=executor)
            os.remove(work / "warm.db")
        runs = [("serial reader (today's path)", None, None, str(work / "a.db")),
                ("parallel path, in-process", SerialExecutor(), None, str(work / "b.db")),
                ("parallel path, local:2", dask, None, str(work / "c.db"))]
        if pg:
            runs.append(("parallel path, local:2, PostgreSQL", dask, None, fresh_pg(pg, "scale_warc")))
        for name, executor, _, target in runs:
            worker_cpu0 = sum(dask.client.run(_cpu_seconds).values()) if executor is dask else 0.0
            with open_store(target) as store:
                t0, c0 = time.perf_counter(), cpu()
                report = ingest(inputs, store, executor=executor)
                wall, client_cpu = time.perf_counter() - t0, cpu() - c0
                assert store.article_count() == crawl.distinct_articles, (name, store.article_count())
            worker_cpu = sum(dask.client.run(_cpu_seconds).values()) - worker_cpu0 if executor is dask else 0.0
            base = base or wall
            rows.append([name, f"{wall:.1f}", f"{client_cpu:.1f}", f"{worker_cpu:.1f}",
                         round(crawl.records / wall), f"{crawl.html_pages / wall:.1f}", f"{base / wall:.2f}",
                         report.count("added"), f"{os.getloadavg()[0]:.1f}"])
        with open_store(str(work / "c.db")) as store:  # a re-run: everything already in
            t0 = time.perf_counter()
            again = ingest(inputs, store, executor=dask)
            rerun = time.perf_counter() - t0
        rows.append(["re-run, local:2 (all present)", f"{rerun:.1f}", "", "", round(crawl.records / rerun), "",
                     f"{base / rerun:.2f}", again.count("added"), f"{os.getloadavg()[0]:.1f}"])
        print_table(f"WARC ingest ({os.cpu_count()} cores; cluster start-up {startup:.1f} s not included)",
                    ["run", "wall s", "client CPU s", "worker CPU s", "records/s", "pages/s", "speed-up", "added",
                     "load 1 min"],
                    rows)
        peaks = dask.worker_peak_rss()
        print_table("Peak memory per worker (ru_maxrss)", ["worker", "peak MB"],
                    [[w, round(v / 1e6)] for w, v in sorted(peaks.items())]
                    + [["client", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)]])
        dask.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- analysis: one process vs a LocalCluster of 2 ------------------------------------
# name, flags, environment. The first is the baseline of the speed-up column. "--jobs 1" is one
# process, but its ONNX sessions use both cores (intra-op threads); "one core" pins them to one.
CONFIGS = [("storydesk analyze --jobs 1", ["--jobs", "1"], {}),
           ("storydesk analyze --cluster local:2", ["--cluster", "local:2"], {}),
           ("storydesk analyze --jobs 1, one ONNX thread", ["--jobs", "1"], {"STORYDESK_ONNX_THREADS": "1"}),
           ("storydesk analyze --jobs 2", ["--jobs", "2"], {})]
DEFAULT_CONFIGS = "0,1"
SERIAL_PARTS = ["clustering", "article_writes", "story_writes", "search_index"]
ARTICLES_PER_HOUR = 100_000


def analyze_scale(size: int, keep: str | None, configs: str = DEFAULT_CONFIGS) -> None:
    texts = load_texts()
    if not texts:
        return
    work = Path(keep or tempfile.mkdtemp(prefix="scale-analyze-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        template, size = _ingested(work, replicate(texts, size))
        chosen = [CONFIGS[int(i)] for i in configs.split(",")]
        runs = [_analyze_run(work, template, name, flags, env) for name, flags, env in chosen]
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    _print_analysis(size, runs)


def _ingested(work: Path, corpus: list[dict]) -> tuple[Path, int]:
    """The corpus in a fresh store; and its article count (replicas of texts that repeat in the
    sources collapse into one article, so it can be below the corpus size)."""
    src, db = work / "corpus.jsonl", work / "ingested.db"
    write_jsonl(corpus, src)
    if db.exists():
        db.unlink()
    wall, _, _, _ = timed(cli("ingest", str(src), "--db", str(db), "-q"))
    with open_store(str(db)) as store:
        stored = store.article_count()
    print(f"\ningested {len(corpus)} texts ({src.stat().st_size / 1e6:.1f} MB of JSONL) in {wall:.0f} s: "
          f"{stored} distinct articles")
    return db, stored


def _analyze_run(work: Path, template: Path, name: str, flags: list[str], env: dict) -> dict:
    """One analysis on a fresh copy of the ingested store; wall and CPU of every process."""
    db, out = work / "run.db", work / "phases.json"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _sqlite_copy(template, db)
    runner = str(Path(__file__).resolve().parent / "_analyze_timed.py")
    load0 = os.getloadavg()[0]
    wall, cpu_all, peak, said = timed([sys.executable, runner, str(out), "analyze", "--db", str(db), "-q", *flags],
                                      extra_env=env)
    phases = json.loads(out.read_text())
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    print(f"{name}: {wall:.0f} s wall, {cpu_all:.0f} CPU s; {said.strip()[-160:]}")
    return {"name": name, "wall": wall, "cpu": cpu_all, "peak_tree": peak[0], "phases": phases,
            "store_bytes": size, "load": (load0, os.getloadavg()[0])}


def _sqlite_copy(src: Path, dst: Path) -> None:
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def serial_seconds(phases: dict) -> float:
    """Main-process time outside the parallel map: what more workers do not shorten."""
    return phases["wall"] - phases.get("in_map", 0.0) - phases.get("cluster_start", 0.0) \
        - phases.get("cluster_close", 0.0)


def amdahl(serial_share: float, workers: int) -> float:
    return 1.0 / (serial_share + (1.0 - serial_share) / workers)


def _print_analysis(size: int, runs: list[dict]) -> None:
    one = runs[0]
    two = next((r for r in runs if "--cluster" in r["name"]), runs[-1])
    rows = []
    for r in runs:
        p = r["phases"]
        rows.append([r["name"], f"{r['wall']:.0f}", f"{r['cpu']:.0f}", f"{p['main_cpu']:.0f}",
                     f"{size / r['wall']:.2f}", f"{size / r['wall'] * 3600:.0f}", f"{one['wall'] / r['wall']:.2f}",
                     f"{r['peak_tree'] / 2**30:.2f}", f"{r['load'][0]:.1f} / {r['load'][1]:.1f}"])
    print_table(f"Analysis of {size} articles ({os.cpu_count()} cores; target speed-up >= 1.7x)",
                ["run", "wall s", "CPU s (all procs)", "main proc CPU s", "articles/s", "articles/h",
                 "speed-up", "peak RSS GB (all)", "load before / after"], rows)
    rows = []
    for r in runs:
        p = r["phases"]
        serial = serial_seconds(p)
        rows.append([r["name"], *(f"{p.get(k, 0.0):.1f}" for k in SERIAL_PARTS), f"{serial:.1f}",
                     f"{p.get('in_map', 0.0):.1f}", f"{p.get('cluster_start', 0.0) + p.get('cluster_close', 0.0):.1f}",
                     f"{serial / p['wall']:.3f}", f"{serial / size * 1000:.1f}"])
    print_table("Main process: where the wall time went (s)",
                ["run", *SERIAL_PARTS, "serial total", "in parallel map", "cluster start+stop", "serial share",
                 "serial ms/article"], rows)
    share = serial_seconds(one["phases"]) / one["phases"]["wall"]
    ceiling = size / serial_seconds(one["phases"]) * 3600
    print_table(f"Amdahl PROJECTION from the --jobs 1 serial share {share:.3f} (not measured)",
                ["workers", "projected speed-up", "projected articles/h"],
                [[n, f"{amdahl(share, n):.1f}", f"{size / one['wall'] * amdahl(share, n) * 3600:.0f}"]
                 for n in (2, 8, 32, 128)] + [["inf (serial part only)", f"{1 / share:.1f}", f"{ceiling:.0f}"]])
    need = 3600 / ARTICLES_PER_HOUR * 1000
    print(f"{ARTICLES_PER_HOUR:,} articles/h needs <= {need:.0f} ms of serial main-process time per article "
          f"(measured {serial_seconds(one['phases']) / size * 1000:.1f} ms) and enough workers for the rest")
    peaks = two["phases"].get("worker_peak_rss", {})
    print_table("Peak memory (ru_maxrss)", ["process", "peak MB"],
                [[w, round(v / 1e6)] for w, v in sorted(peaks.items())]
                + [[f"main, {r['name']}", round(r["phases"]["main_peak_rss"] / 1e6)] for r in runs])
    print(f"store after analysis: {two['store_bytes'] / 1e6:.0f} MB SQLite, "
          f"{two['store_bytes'] / size / 1e3:.1f} kB per article")


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--warc-files", type=int, default=8)
    ap.add_argument("--warc-pages", type=int, default=200)
    ap.add_argument("--size", type=int, default=10_000, help="articles in the analysis part")
    ap.add_argument("--keep", help="keep the analysis stores in this folder")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help="analysis runs, indices into CONFIGS: 0 --jobs 1, 1 --cluster local:2, "
                         "2 --jobs 1 with one ONNX thread, 3 --jobs 2 (the first is the speed-up's baseline)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: store,warc,analyze")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    pg = pg_url()
    if "store" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            targets = {"SQLite (WAL, synchronous=NORMAL)": str(Path(tmp) / "w.db")}
            if pg:
                targets["PostgreSQL 15 (loopback)"] = fresh_pg(pg, "scale_writes")
            store_writes(targets, args.rows)
    if "warc" not in skip:
        warc_ingest(args.warc_files, args.warc_pages, pg)
    if "analyze" not in skip:
        analyze_scale(args.size, args.keep, args.configs)


if __name__ == "__main__":
    sys.exit(main())
