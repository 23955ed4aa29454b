"""`storydesk serve` speed and search quality.

1. Search quality on the analysed sample corpus: mean reciprocal rank of the right story for
   written queries (events described in other words, quotes reworded), hybrid vs FTS5 alone vs
   embeddings alone, in the same run.
2. Latency on a large store: the analysed sample corpus replicated with new article and story ids
   (text unchanged; each copy's sentence vectors get small noise so the vector search scans as many
   distinct vectors as a real store would). p50/p95 of the stories list, a story page, an article
   page and a search, over HTTP to a `storydesk serve` process on 127.0.0.1, then requests/s with
   8 concurrent clients. Server CPU seconds are shown beside wall seconds.

    python benchmarks/serve.py [--articles 10000] [--requests 60] [--seconds 15] [--cache DIR] [--keep]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from storydesk.store import SQLiteStore  # noqa: E402

# (query, story) - written for this benchmark from the ground truth; A = Mirna Dam, B = Pelgrave Dam.
QUERIES = [
    ("reservoir wall burst at dusk and flooded a riverside town", "A"),
    ("how many people died in the district right below the reservoir", "A"),
    ("aid organisations say the official number of dead is too low", "A"),
    ("emergency rule declared in the province after the barrier broke", "A"),
    ("government orders an independent investigation into the collapse", "A"),
    ("volunteer nurses keep working overnight at an emergency shelter", "A"),
    ("engineers say alerts about the embankment were ignored", "A"),
    ("the water rose quicker than any of our forecasts expected", "A"),
    ("we will keep searching while there is still a chance", "A"),
    ("residents had complained for years about leaking through the eastern bank", "A"),
    ("boats carried food and medicine to villages that were cut off", "A"),
    ("thousands of people spent the night in shelters", "A"),
    ("grief and anger in the flooded town", "A"),
    ("the scale of the damage becomes clear as the flood recedes", "A"),
    ("rescue teams still looking for missing people after the breach", "A"),
    ("we told the ministry twice the spillway could not handle heavy rain and were told it was safe", "A"),
    ("a baker describes the night the water came into her shop", "A"),
    ("the toll across the province rose again", "A"),
    ("commander of the emergency service talks about the rescue effort", "A"),
    ("the chief engineer of the basin authority denies any warning reached him", "A"),
    ("until every family knows where their relatives are", "A"),
    ("an open secret for years", "A"),
    ("minister visits the flooded town", "A"),
    ("part of the spillway gave way early on Thursday and flooded a town", "B"),
    ("six people were killed when the spillway collapsed", "B"),
    ("clean-up starts as an inquiry into the dam opens", "B"),
    ("questions about how the dam was maintained after the deadly flood", "B"),
    ("a safety report from 2022 found cracking in the concrete", "B"),
    ("the civil protection office moved people out of homes downstream", "B"),
    ("the number of dead from the spillway failure rises to seven", "B"),
    ("the neighbouring country's dam disaster", "B"),
    ("clean-up crews remove mud from streets after the spillway flood", "B"),
]


def _base_store(cache: Path) -> Path:
    """The sample corpus, ingested and analysed once (kept in ``cache``)."""
    db = cache / "sample-analysed.db"
    if db.exists():
        return db
    tmp = cache / "building.db"
    for p in cache.glob("building.db*"):
        p.unlink()
    cli = [sys.executable, "-m", "storydesk.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(cli + ["ingest", str(ROOT / "examples" / "corpus"), "--db", str(tmp), "-q"], env=env, check=False)
    subprocess.run(cli + ["analyze", "--db", str(tmp)], env=env, check=True)
    with SQLiteStore(str(tmp)) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tmp.rename(db)
    return db


# --------------------------------------------------------------------------- quality
# The queries are split once, by position: even-numbered ones tune the fusion weight, odd-numbered
# ones are reported (both halves hold queries of both stories). The weight is chosen by mean average
# precision (every article of the right story counts, so 16 queries say more than their first hits).
WEIGHTS = [round(0.1 * n, 1) for n in range(11)]


def _ranks(store, letter: dict, query: str, want: str, mode: str, weight: float) -> list[int]:
    from storydesk.models.embeddings import embed
    from storydesk.search import search

    hits = search(store, query, mode=mode, limit=50, encoder=embed, fts_weight=weight)
    return [n for n, h in enumerate(hits, 1) if letter.get(h.article_id) == want]


def _mrr(ranked: list[list[int]]) -> float:
    return statistics.mean(1 / r[0] if r else 0.0 for r in ranked)


def _map(ranked: list[list[int]], relevant: list[int]) -> float:
    """Mean average precision; an article of the right story that is not found counts as precision 0."""
    return statistics.mean(sum((k + 1) / n for k, n in enumerate(r)) / total for r, total in zip(ranked, relevant))


def search_quality(db: Path) -> tuple[float, list[tuple]]:
    """The weight chosen on the tuning half, and per mode: (mode, half, queries, MRR, MAP, top-1)."""
    from storydesk.records import Story
    from storydesk.search import FTS_WEIGHT

    tune, report = QUERIES[0::2], QUERIES[1::2]
    with SQLiteStore(str(db)) as store:
        stories = sorted(store.get_records("stories", Story), key=lambda s: -len(s.article_ids))
        letter = {aid: "AB"[n] for n, s in enumerate(stories[:2]) for aid in s.article_ids}
        size = {want: sum(v == want for v in letter.values()) for want in "AB"}
        tuned = {w: _map([_ranks(store, letter, q, s, "hybrid", w) for q, s in tune], [size[s] for _, s in tune])
                 for w in WEIGHTS}
        print("tuning half, MAP by keyword weight:", " ".join(f"{w}:{m:.3f}" for w, m in tuned.items()))
        # A tie goes to the weight nearer an even split: nothing in the tuning half says otherwise.
        chosen = max(WEIGHTS, key=lambda w: (round(tuned[w], 6), -abs(w - 0.5)))
        rows = []
        for mode in ("hybrid", "fts", "vector"):
            for half, queries in (("report", report), ("tune", tune), ("all", QUERIES)):
                ranked = [_ranks(store, letter, q, s, mode, FTS_WEIGHT) for q, s in queries]
                top1 = sum(bool(r) and r[0] == 1 for r in ranked)
                rows.append((mode, half, len(queries), _mrr(ranked), _map(ranked, [size[s] for _, s in queries]), top1))
    return chosen, rows


# --------------------------------------------------------------------------- large store
def replicate(base: Path, target: Path, n_articles: int) -> dict:
    """Copy the analysed base store until it holds about ``n_articles`` (new ids, same text)."""
    shutil.copy(base, target)
    started = time.time()
    with SQLiteStore(str(target)) as store:
        db = store.db
        arts = db.execute("SELECT id, raw_sha256, published, outlet, title, data FROM articles ORDER BY seq").fetchall()
        recs = db.execute("SELECT kind, story_id, id, article_id, data FROM records").fetchall()
        sents = db.execute("SELECT article_id, start, end, text, vector_id FROM search_sentences").fetchall()
        vecs = {vid: np.frombuffer(blob, dtype=np.float16).astype(np.float32)
                for vid, blob in db.execute("SELECT id, vector FROM search_vectors")}
        story_ids = sorted({r[1] for r in recs if r[1]} | {json.loads(r[4])["id"] for r in recs if r[0] == "stories"})
        copies = max(0, n_articles // len(arts) - 1)
        ids = [a[0] for a in arts] + story_ids
        pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
        rng = np.random.default_rng(7)
        with store.transaction():
            for k in range(1, copies + 1):
                new = {i: _new_id(i, k) for i in ids}
                sub = lambda text: pattern.sub(lambda m: new[m.group()], text)  # noqa: E731
                db.executemany("INSERT INTO articles (id, raw_sha256, published, outlet, title, data) VALUES (?,?,?,?,?,?)",
                               [(new[a[0]], a[1], a[2], a[3], a[4], sub(a[5])) for a in arts])
                db.executemany("INSERT INTO records (kind, story_id, id, article_id, data) VALUES (?,?,?,?,?)",
                               [(r[0], new.get(r[1], r[1]), new.get(r[2], r[2]), new.get(r[3], r[3]), sub(r[4]))
                                for r in recs])
                vid_map = {}
                for vid, vec in vecs.items():
                    noisy = vec + rng.normal(0, 0.05, vec.shape).astype(np.float32)
                    noisy /= np.linalg.norm(noisy)
                    cur = db.execute("INSERT INTO search_vectors (key, vector) VALUES (?,?)",
                                     (f"{k}:{vid}", noisy.astype(np.float16).tobytes()))
                    vid_map[vid] = cur.lastrowid
                db.executemany("INSERT INTO search_sentences (article_id, start, end, text, vector_id) VALUES (?,?,?,?,?)",
                               [(new[s[0]], s[1], s[2], s[3], vid_map.get(s[4])) for s in sents])
                db.executemany("INSERT INTO search_articles (article_id, sentences) VALUES (?, 0)",
                               [(new[a[0]],) for a in arts])
            db.execute("INSERT INTO search_fts(search_fts) VALUES('rebuild')")
            db.execute("DELETE FROM state WHERE name='search.filters.by_story'")  # rebuilt from the records
            db.execute("INSERT OR REPLACE INTO state (name, data) VALUES ('search.version', ?)", (str(time.time()).encode(),))
        from storydesk.search import _refresh_filters
        _refresh_filters(store)
        size = {"articles": store.article_count(), "stories": len(story_ids) * (copies + 1),
                "sentences": db.execute("SELECT count(*) FROM search_sentences").fetchone()[0],
                "vectors": db.execute("SELECT count(*) FROM search_vectors").fetchone()[0],
                "build_s": time.time() - started}
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return size


def large_store(base: Path, cache: Path, n_articles: int, keep: bool) -> Path:
    """The replicated store; with ``keep`` it stays in ``cache`` and later runs reuse it (it is only read)."""
    big = cache / f"replicated-{n_articles}.db"
    if keep and big.exists() and big.stat().st_mtime >= base.stat().st_mtime:
        print(f"\nlarge store: {big} (kept from an earlier run)")
        return big
    for p in cache.glob(big.name + "*"):
        p.unlink()
    size = replicate(base, big, n_articles)
    print(f"\nlarge store: {size['articles']:,} articles, {size['stories']:,} stories, {size['sentences']:,} "
          f"sentences, {size['vectors']:,} vectors (replicated in {size['build_s']:.0f} s)")
    return big


def _new_id(old: str, k: int) -> str:
    digest = hashlib.sha1(f"{k}:{old}".encode()).hexdigest()
    return old[0] + digest[: len(old) - 1]


def wait_ready(client, tries: int = 600) -> None:
    """Wait (up to a minute) until the server answers."""
    import httpx  # imported here, like the rest of this script, so it skips cleanly without the web extra
    for _ in range(tries):
        try:
            client.get("/api/v1/openapi.json")
            return
        except httpx.HTTPError:
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(db: Path, requests: int, seconds: float) -> tuple[list[tuple], tuple]:
    import httpx

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "storydesk.cli", "serve", "--db", str(db), "--port", str(port)],
                              env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, timeout=120)
        wait_ready(client)
        t0 = time.time()
        client.get("/")  # the first request builds the in-memory snapshot
        snapshot_s = time.time() - t0
        client.get("/api/v1/search", params={"q": "warm up the model"})
        stories = client.get("/api/v1/stories", params={"limit": 200}).json()["items"]
        articles = client.get("/api/v1/articles", params={"limit": 200}).json()["items"]
        rng = random.Random(3)
        kinds = {
            "stories list": lambda: "/",
            "story page (first view)": lambda: f"/stories/{rng.choice(stories)['id']}",
            "article page": lambda: f"/articles/{rng.choice(articles)['id']}",
            "search (hybrid, API)": lambda: "/api/v1/search?q=" + rng.choice(QUERIES)[0].replace(" ", "+"),
            "search page": lambda: "/search?q=" + rng.choice(QUERIES)[0].replace(" ", "+"),
        }
        rows = [("snapshot build (first request)", 1, snapshot_s * 1000, snapshot_s * 1000, None)]
        for name, make in kinds.items():
            times, cpu0 = [], _cpu(server.pid)
            for _ in range(requests):
                t = time.perf_counter()
                r = client.get(make())
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (name, r.status_code, r.text[:200])
            times.sort()
            rows.append((name, requests, times[len(times) // 2], times[int(len(times) * 0.95) - 1],
                         (_cpu(server.pid) - cpu0) / requests * 1000))
        done, stop, lock = [0], time.time() + seconds, threading.Lock()

        def worker(seed):
            r2 = random.Random(seed)
            with httpx.Client(base_url=base, timeout=120) as c:
                while time.time() < stop:
                    url = r2.choice([kinds["stories list"], kinds["article page"], kinds["search (hybrid, API)"],
                                     kinds["story page (first view)"]])()
                    if c.get(url).status_code == 200:
                        with lock:
                            done[0] += 1
        cpu0, t0 = _cpu(server.pid), time.time()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        return rows, (done[0], wall, _cpu(server.pid) - cpu0)
    finally:
        server.terminate()
        server.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--cache", default=str(ROOT.parent / "data-web" / "bench"))
    ap.add_argument("--keep", action="store_true", help="keep the large store in --cache for the next run")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    t = time.time()
    base = _base_store(cache)
    print(f"base store (sample corpus, analysed): {base} ({time.time() - t:.0f} s)")

    from storydesk.search import FTS_WEIGHT
    chosen, quality = search_quality(base)
    print(f"\nsearch quality: rank of the first article of the right story, sample corpus (2 stories: 15 + 3 "
          f"articles), {len(QUERIES)} written queries split by position: {len(QUERIES[0::2])} even-numbered tune the "
          f"fusion weight, {len(QUERIES[1::2])} odd-numbered are reported")
    print(f"keyword weight chosen on the tuning half (MAP): {chosen}; the library's FTS_WEIGHT: {FTS_WEIGHT}"
          + ("" if chosen == FTS_WEIGHT else "  <- differs: update storydesk/search.py"))
    print(f"{'mode':<8} {'half':<7} {'queries':>7} {'MRR':>6} {'MAP':>6} {'top-1':>6}")
    for mode, half, n, mrr, mean_ap, top1 in quality:
        print(f"{mode:<8} {half:<7} {n:>7} {mrr:>6.3f} {mean_ap:>6.3f} {top1:>6}")

    big = large_store(base, cache, args.articles, args.keep)
    try:
        rows, (n, wall, cpu) = latency(big, args.requests, args.seconds)
    finally:
        if not args.keep:
            for p in big.parent.glob(big.name + "*"):
                p.unlink()
    print(f"\n{'request':<32} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'server CPU ms/req':>18}")
    for name, count, p50, p95, cpu_ms in rows:
        print(f"{name:<32} {count:>4} {p50:>8.1f} {p95:>8.1f} {'' if cpu_ms is None else f'{cpu_ms:.1f}':>18}")
    print(f"\n8 concurrent clients, mixed pages and search: {n} requests in {wall:.1f} s wall = {n / wall:.1f} req/s "
          f"(server CPU {cpu:.1f} s; 2 shared cores)")


if __name__ == "__main__":
    main()
