"""Run ``storydesk analyze ARGS`` in this process with timers around the main process's parts.

    python benchmarks/_analyze_timed.py OUT.json analyze --db s.db --jobs 1 -q

It is the CLI command itself; the timers only wrap functions, so the run is the same. Written
to OUT.json (seconds): ``in_map`` is time the main process spent waiting in ``executor.map``
(with ``--jobs 1`` that is doing the per-article and per-story work itself); the rest of the run
(clustering, store writes, search index, set-up) is the serial part that more workers do not
shorten. With ``--cluster`` it also holds the peak RSS of each worker.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from collections import defaultdict
from typing import Callable

TIMES: dict[str, float] = defaultdict(float)
EXTRA: dict[str, object] = {}


def timer(name: str, fn: Callable) -> Callable:
    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - t0
    return timed


def timed_map(real_map: Callable) -> Callable:
    """Count only the time spent inside the map's ``next()``, not the caller's work between."""
    def map_(self, fn, items):
        it = iter(real_map(self, fn, items))
        while True:
            t0 = time.perf_counter()
            try:
                result = next(it)
            except StopIteration:
                TIMES["in_map"] += time.perf_counter() - t0
                return
            TIMES["in_map"] += time.perf_counter() - t0
            yield result
    return map_


def install() -> None:
    from storydesk import briefing, cluster, engine, work

    engine._store_phase = timer("clustering", engine._store_phase)
    work.save = timer("article_writes", work.save)
    engine._save_story = timer("story_writes", engine._save_story)
    briefing.update_index = timer("search_index", briefing.update_index)
    cluster.SerialExecutor.map = timed_map(cluster.SerialExecutor.map)
    cluster.DaskExecutor.map = timed_map(cluster.DaskExecutor.map)
    cluster.DaskExecutor.__init__ = timer("cluster_start", cluster.DaskExecutor.__init__)
    real_close = cluster.DaskExecutor.close

    def close(self) -> None:  # the workers' peaks, read before they go
        try:
            EXTRA["worker_peak_rss"] = self.worker_peak_rss()
        finally:
            timer("cluster_close", real_close)(self)
    cluster.DaskExecutor.close = close


def main(out: str, args: list[str]) -> int:
    install()
    from storydesk.cli import cli

    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    code = 0
    try:
        cli(args, standalone_mode=False)
    except SystemExit as exc:  # 3: some work flagged, the rest stored
        code = int(exc.code or 0)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    EXTRA.update(wall=time.perf_counter() - t0, main_cpu=r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime,
                 main_peak_rss=r1.ru_maxrss * 1024, exit=code)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({**TIMES, **EXTRA}, fh)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
