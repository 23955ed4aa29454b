"""Scale: store write throughput (SQLite vs PostgreSQL), WARC ingest records/s (one process vs a
LocalCluster of 2 workers), peak memory per worker, and, where the engine exists, analysis of
N articles single-process vs --cluster local:2 with its serial share and an Amdahl projection.

Data is generated (benchmarks/_crawl.py), never fetched. PostgreSQL parts need a server:
STORYDESK_BENCH_PG or STORYDESK_TEST_PG (`eval "$(PG_DURABLE=1 .ci/pg-start)"` starts one with
fsync on); they are skipped with a message otherwise. The machine has 2 cores shared with
other work: every table prints wall and CPU seconds side by side, and ratios from one run.

Run: python benchmarks/scale.py [--warc-files 8 --warc-pages 200] [--rows 5000] [--skip store,warc,analyze]
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


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--warc-files", type=int, default=8)
    ap.add_argument("--warc-pages", type=int, default=200)
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


if __name__ == "__main__":
    sys.exit(main())
