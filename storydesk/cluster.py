"""Executors: where per-article and per-story work runs.

``executor.map(fn, items)`` yields ``fn(item)`` for every item, in any order (each result
carries its own keys). ``fn`` is a module-level function and ``items`` are picklable batches,
so the same call runs in this process (``SerialExecutor``) or on a Dask cluster
(``DaskExecutor``). Retries and killed workers are Dask's job: a task whose worker dies is
run again elsewhere, and its result reaches the caller once, so the caller, which does all
the store writes, never writes anything twice.

Dask is imported only when a ``DaskExecutor`` is made (``--cluster ADDR``): it is the
optional extra ``cluster``, not a start-up cost.
"""
from __future__ import annotations

import contextlib
import logging
import os
import uuid
from typing import Any, Callable, Iterable, Iterator, Optional

from .errors import ConfigError

TASK_RETRIES = 3  # besides Dask's own rescheduling of tasks whose worker died


class SerialExecutor:
    """Run every item here, in order: the default without ``--cluster``."""

    address = "serial"
    workers = 1

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield fn(item)

    def worker_peak_rss(self) -> dict[str, int]:
        return {"client": _peak_rss()}

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DaskExecutor(SerialExecutor):
    """Work on a Dask cluster: ``tcp://host:port`` (a running scheduler) or ``local:N``
    (a LocalCluster of N single-threaded worker processes on this machine)."""

    def __init__(self, address: str, *, in_flight: Optional[int] = None):
        distributed = _distributed()
        self.address, self.cluster = address, None
        if address.startswith("local:"):
            n = _worker_count(address)
            self.cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
        elif address.startswith(("tcp://", "tls://")):
            try:
                self.client = distributed.Client(address, timeout="30s")
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {address} ({exc}); start it with "
                                  "`dask scheduler` and workers with `dask worker ADDRESS`, or use --cluster local:2")
        else:
            raise ConfigError(f"--cluster {address!r} is not a cluster address; give tcp://host:port "
                              "(a Dask scheduler) or local:N (N worker processes here)")
        self._in_flight = in_flight

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Submit items lazily, a bounded number at a time, and yield results as they finish,
        so neither the client nor the scheduler holds a whole crawl at once."""
        from distributed import as_completed

        limit = self._in_flight or 3 * max(1, sum(self.client.nthreads().values()))
        source, run = iter(items), uuid.uuid4().hex[:8]
        name = getattr(fn, "__name__", "task")
        pending = as_completed()
        count = 0
        for item in source:
            pending.add(self._submit(fn, item, f"{name}-{run}-{count}"))
            count += 1
            if count >= limit:
                break
        for future in pending:
            result = future.result()
            future.release()
            nxt = next(source, _END)
            if nxt is not _END:
                pending.add(self._submit(fn, nxt, f"{name}-{run}-{count}"))
                count += 1
            yield result

    def _submit(self, fn, item, key):
        return self.client.submit(fn, item, key=key, pure=False, retries=TASK_RETRIES)

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def worker_peak_rss(self) -> dict[str, int]:
        return self.client.run(_peak_rss)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


_END = object()


@contextlib.contextmanager
def open_executor(address: Optional[str]):
    """``None`` (no --cluster) yields None: the caller keeps its in-process path."""
    if not address:
        yield None
        return
    executor = DaskExecutor(address)
    try:
        yield executor
    finally:
        executor.close()


def _worker_count(address: str) -> int:
    text = address.split(":", 1)[1]
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"--cluster {address!r}: local:N needs a worker count N >= 1, e.g. local:2")
    return int(text)


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError("--cluster needs Dask: pip install 'storydesk[cluster]'") from exc
    return distributed


def _peak_rss() -> int:
    """Peak resident memory of this process, in bytes (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
