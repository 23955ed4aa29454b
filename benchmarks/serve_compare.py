"""Two versions of `storydesk serve` side by side on one store: every request sent to each in turn
(alternating which goes first), so both see the same machine load. p50/p95 over HTTP and server
CPU for the stories list, a story page, an article page, the search API and the search page; then
requests/s with 8 concurrent clients, each server in turn, twice.

    git archive COMMIT | tar -x -C /tmp/old
    python benchmarks/serve.py --cache DIR --keep         # builds DIR/replicated-10000.db
    python benchmarks/serve_compare.py --old /tmp/old --db DIR/replicated-10000.db [--requests 80]
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from serve import QUERIES, _cpu, _free_port, wait_ready  # noqa: E402

KINDS = ("stories list", "story page", "article page", "search API", "search page")


def _start(root: str, db: str) -> tuple[subprocess.Popen, httpx.Client]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": root, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "storydesk.cli", "serve", "--db", db, "--port", str(port)],
                            env=env, cwd=root, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    wait_ready(client)
    client.get("/")  # the snapshot is built on the first page
    for path in ("/api/v1/search", "/search"):  # the model and the search caches load on the first search
        client.get(path, params={"q": "warm up the model"})
    return proc, client


def _urls(client: httpx.Client, requests: int) -> list[dict[str, str]]:
    """The same story, article and query for both servers at each step."""
    stories = client.get("/api/v1/stories", params={"limit": 200}).json()["items"]
    articles = client.get("/api/v1/articles", params={"limit": 200}).json()["items"]
    rng = random.Random(3)
    out = []
    for _ in range(requests):
        q = rng.choice(QUERIES)[0].replace(" ", "+")
        out.append({"stories list": "/", "story page": f"/stories/{rng.choice(stories)['id']}",
                    "article page": f"/articles/{rng.choice(articles)['id']}",
                    "search API": f"/api/v1/search?q={q}", "search page": f"/search?q={q}"})
    return out


def _throughput(base: str, urls: list[dict[str, str]], seconds: float) -> int:
    done, stop, lock = [0], time.time() + seconds, threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=120) as c:
            while time.time() < stop:
                step = rng.choice(urls)
                if c.get(step[rng.choice(("stories list", "article page", "search API", "story page"))]).status_code == 200:
                    with lock:
                        done[0] += 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="a source tree of the version to compare with")
    ap.add_argument("--new", default=str(ROOT))
    ap.add_argument("--db", required=True)
    ap.add_argument("--requests", type=int, default=80)
    ap.add_argument("--seconds", type=float, default=10, help="per server and round of the 8-client phase")
    args = ap.parse_args()
    servers = {f"old ({args.old})": _start(args.old, args.db), f"new ({args.new})": _start(args.new, args.db)}
    try:
        urls = _urls(next(iter(servers.values()))[1], args.requests)
        times = {(n, k): [] for n in servers for k in KINDS}
        cpu = dict.fromkeys(times, 0.0)
        for i, step in enumerate(urls):
            order = list(servers.items())[:: 1 if i % 2 else -1]
            for kind in KINDS:
                for name, (proc, client) in order:
                    c0, t0 = _cpu(proc.pid), time.perf_counter()
                    assert client.get(step[kind]).status_code == 200, (name, step[kind])
                    times[(name, kind)].append((time.perf_counter() - t0) * 1000)
                    cpu[(name, kind)] += _cpu(proc.pid) - c0
        print(f"{'server':<40} {'request':<13} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'server CPU ms/req':>18}")
        for (name, kind), ts in sorted(times.items(), key=lambda kv: (KINDS.index(kv[0][1]), kv[0][0] != list(servers)[0])):
            ts.sort()
            print(f"{name[:40]:<40} {kind:<13} {len(ts):>4} {ts[len(ts) // 2]:>8.1f} {ts[int(len(ts) * 0.95) - 1]:>8.1f} "
                  f"{cpu[(name, kind)] / len(ts) * 1000:>18.1f}")
        served = {n: [0, 0.0, 0.0] for n in servers}
        for _ in range(2):
            for name, (proc, client) in servers.items():
                c0, t0 = _cpu(proc.pid), time.time()
                served[name][0] += _throughput(str(client.base_url), urls, args.seconds)
                served[name][1] += time.time() - t0
                served[name][2] += _cpu(proc.pid) - c0
        print(f"\n8 concurrent clients, mixed pages and search, each server {2 * args.seconds:.0f} s in two turns:")
        for name, (n, wall, c) in served.items():
            print(f"{name[:40]:<40} {n:>5} requests {n / wall:>6.1f} req/s  server CPU {c / n * 1000:.1f} ms/req")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
