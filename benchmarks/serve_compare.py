"""Two versions of `storydesk serve` side by side on one store: the same search sent to each in turn
(alternating which goes first), so both see the same machine load. p50/p95 over HTTP and server CPU.

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
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from serve import QUERIES, _cpu, _free_port, wait_ready  # noqa: E402

KINDS = (("search API", "/api/v1/search"), ("search page", "/search"))


def _start(root: str, db: str) -> tuple[subprocess.Popen, httpx.Client]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": root, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "storydesk.cli", "serve", "--db", db, "--port", str(port)],
                            env=env, cwd=root, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    wait_ready(client)
    for _, path in KINDS:  # the model and the search caches load on the first search
        client.get(path, params={"q": "warm up the model"})
    return proc, client


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="a source tree of the version to compare with")
    ap.add_argument("--new", default=str(ROOT))
    ap.add_argument("--db", required=True)
    ap.add_argument("--requests", type=int, default=80)
    args = ap.parse_args()
    servers = {f"old ({args.old})": _start(args.old, args.db), f"new ({args.new})": _start(args.new, args.db)}
    try:
        times = {(n, k): [] for n in servers for k, _ in KINDS}
        cpu = dict.fromkeys(times, 0.0)
        rng = random.Random(3)
        for i in range(args.requests):
            query = rng.choice(QUERIES)[0]
            order = list(servers.items())[:: 1 if i % 2 else -1]
            for kind, path in KINDS:
                for name, (proc, client) in order:
                    c0, t0 = _cpu(proc.pid), time.perf_counter()
                    assert client.get(path, params={"q": query}).status_code == 200
                    times[(name, kind)].append((time.perf_counter() - t0) * 1000)
                    cpu[(name, kind)] += _cpu(proc.pid) - c0
        print(f"{'server':<40} {'request':<12} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'server CPU ms/req':>18}")
        for (name, kind), ts in times.items():
            ts.sort()
            print(f"{name[:40]:<40} {kind:<12} {len(ts):>4} {ts[len(ts) // 2]:>8.1f} {ts[int(len(ts) * 0.95) - 1]:>8.1f} "
                  f"{cpu[(name, kind)] / len(ts) * 1000:>18.1f}")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
