"""Follow sources as a story develops: feeds, page URLs and folders, polled again and again.

Each poll asks only for what changed (``If-None-Match`` / ``If-Modified-Since``
from the last answer), obeys robots.txt, waits between two requests to one host
(at least ``min_interval`` seconds, or the host's ``Crawl-delay``), and ingests
only articles the store does not hold yet (an updated feed entry has new text,
so it is new). Every source keeps when it was last checked and what failed; a
failure (HTTP 500, a slow host, a redirect loop) is recorded and retried at the
next poll, it never stops the others.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import threading
import time
import urllib.robotparser
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit

from .errors import ConfigError, FetchError, NotFound
from .records import IngestReport, WatchOutcome
from .store import SQLiteStore

USER_AGENT = "storydesk-watch/0.1 (+https://storydesk.example/watch)"
MAX_REDIRECTS = 5
_EXT_BY_TYPE = {"text/html": ".html", "application/xhtml+xml": ".html", "application/rss+xml": ".rss",
                "application/atom+xml": ".atom", "application/xml": ".xml", "text/xml": ".xml",
                "application/json": ".json", "application/x-ndjson": ".jsonl", "text/plain": ".txt",
                "application/warc": ".warc"}


def parse_every(value: str) -> float:
    """``10m`` / ``30s`` / ``2h`` / ``90`` -> seconds."""
    text = (value or "").strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise ConfigError(f"--every {value!r} is not a duration; write e.g. 30s, 10m or 1h")
    if seconds <= 0:
        raise ConfigError(f"--every {value!r} must be more than zero")
    return seconds


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class SourceState:
    source: str
    kind: str
    etag: Optional[str] = None
    last_modified: Optional[str] = None
    last_checked: Optional[str] = None
    last_status: Optional[str] = None
    last_error: Optional[str] = None
    added: int = 0
    seen: str = "{}"
    stored: bool = False  # read from the store (a poll then only updates it: see Watcher._save)


_COLUMNS = "source, kind, etag, last_modified, last_checked, last_status, last_error, added, seen"


def source_kind(source: str) -> str:
    """``url`` or ``folder``; a :class:`ConfigError` saying what to give instead for anything else."""
    if source.startswith(("http://", "https://")) and urlsplit(source).hostname:
        return "url"
    if os.path.isdir(source):
        return "folder"
    raise ConfigError(f"cannot watch {source[:200]!r}: give an http(s) URL of a feed or page, or a folder")


def source_states(store) -> list[SourceState]:
    """Every watched source with when it was last checked and what failed."""
    rows = store.db.execute(f"SELECT {_COLUMNS} FROM watch_sources ORDER BY source").fetchall()
    return [SourceState(*row, stored=True) for row in rows]


def stop_watching(store, sources: Iterable[str]) -> list[SourceState]:
    """Stop following ``sources``: they are polled no more; the articles they brought stay.

    All or nothing: if one of them is not watched, a :class:`NotFound` names it (and what is
    watched) and none is removed."""
    wanted = list(dict.fromkeys(s.strip() for s in sources))
    states = {s.source: s for s in source_states(store)}
    unknown = [s for s in wanted if s not in states]
    if unknown:
        listed = ", ".join(sorted(states)[:5]) + (" ..." if len(states) > 5 else "")
        raise NotFound(f"not watched: {', '.join(u[:200] for u in unknown)}; "
                       + (f"watched: {listed}" if states else "no source is watched"))
    with store.transaction():
        for source in wanted:
            store.db.execute("DELETE FROM watch_sources WHERE source=?", (source,))
    return [states[s] for s in wanted]


class Watcher:
    """Polls sources into ``store``. ``client`` is an ``httpx.Client`` (one is made if omitted)."""

    def __init__(self, store: SQLiteStore, *, min_interval: float = 2.0, timeout: float = 15.0,
                 max_bytes: int = 25_000_000, client=None, analyse: Optional[Callable] = None,
                 sleep: Callable[[float], None] = time.sleep):
        import httpx

        self.store = store
        self.min_interval = min_interval
        self.max_bytes = max_bytes
        self.analyse = analyse
        self.sleep = sleep
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                                             headers={"User-Agent": USER_AGENT}, trust_env=False)
        self._robots: dict[str, Optional[urllib.robotparser.RobotFileParser]] = {}
        self._last_hit: dict[str, float] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP client this watcher made (a client passed in belongs to the caller)."""
        if self._own_client:
            self.client.close()

    # ----------------------------------------------------------------- polling
    def poll(self, sources: Iterable[str]) -> list[WatchOutcome]:
        """Check every source once; analyse once at the end when anything was added."""
        outcomes = [self.poll_one(s) for s in sources]
        if self.analyse and any(o.added for o in outcomes):
            self.analyse(self.store)
        return outcomes

    def poll_one(self, source: str) -> WatchOutcome:
        state = self._state(source)
        try:
            outcome = self._poll_folder(state) if state.kind == "folder" else self._poll_url(state)
        except FetchError as exc:
            outcome = WatchOutcome(source, "failed", _now(), error=str(exc))
        self._save(state, outcome)
        return outcome

    def _state(self, source: str) -> SourceState:
        row = self.store.db.execute(f"SELECT {_COLUMNS} FROM watch_sources WHERE source=?", (source,)).fetchone()
        return SourceState(*row, stored=True) if row else SourceState(source, source_kind(source))

    def _save(self, state: SourceState, outcome: WatchOutcome) -> None:
        state.last_checked, state.last_status, state.last_error = outcome.checked_at, outcome.status, outcome.error
        state.added += len(outcome.added)
        values = (state.kind, state.etag, state.last_modified, state.last_checked, state.last_status,
                  state.last_error, state.added, state.seen, state.source)
        with self.store.transaction():
            if state.stored:  # stopped while this poll ran: it stays stopped
                self.store.db.execute("UPDATE watch_sources SET kind=?, etag=?, last_modified=?, last_checked=?, "
                                      "last_status=?, last_error=?, added=?, seen=? WHERE source=?", values)
            else:
                self.store.db.execute(f"INSERT OR REPLACE INTO watch_sources ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                                      (state.source, *values[:-1]))

    # ----------------------------------------------------------------- URLs
    def _poll_url(self, state: SourceState) -> WatchOutcome:
        url = state.source
        if not self.allowed(url):
            return WatchOutcome(url, "blocked", _now(), error="robots.txt disallows this URL for storydesk; not fetched")
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        response = self._get(url, headers)
        if response.status_code == 304:
            return WatchOutcome(url, "not_modified", _now(), http_status=304)
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code} from {urlsplit(url).netloc}; tried again at the next poll")
        state.etag = response.headers.get("etag")
        state.last_modified = response.headers.get("last-modified")
        report = self._ingest_bytes(url, response.content, response.headers.get("content-type", ""))
        return self._outcome(url, report, 200)

    def _get(self, url: str, headers: dict):
        import httpx

        self._wait_turn(url)
        try:
            response = self.client.get(url, headers=headers)
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url} (a redirect loop?); fix the URL")
        except httpx.TimeoutException:
            raise FetchError(f"{urlsplit(url).netloc} did not answer in time; tried again at the next poll")
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {type(exc).__name__}: {exc}")
        if len(response.content) > self.max_bytes:
            raise FetchError(f"{url} sent {len(response.content) / 1e6:.1f} MB, over the "
                             f"{self.max_bytes / 1e6:.0f} MB limit")
        return response

    def _wait_turn(self, url: str) -> None:
        """Per-host rate limit: at least ``min_interval`` (or the robots Crawl-delay) between requests."""
        host = urlsplit(url).netloc
        robots = self._robots.get(host)
        delay = max(self.min_interval, float((robots and robots.crawl_delay(USER_AGENT)) or 0))
        with self._lock:
            wait = self._last_hit.get(host, -1e9) + delay - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last_hit[host] = time.monotonic()

    def allowed(self, url: str) -> bool:
        """robots.txt for the URL's host (fetched once per watcher): missing = allowed, unreachable = not now."""
        parts = urlsplit(url)
        host = parts.netloc
        if host not in self._robots:
            self._robots[host] = self._fetch_robots(f"{parts.scheme}://{host}/robots.txt")
        robots = self._robots[host]
        if robots is None:
            del self._robots[host]  # try again next poll
            raise FetchError(f"robots.txt of {host} could not be read; not fetching until it can")
        return robots.can_fetch(USER_AGENT, url)

    def _fetch_robots(self, url: str) -> Optional[urllib.robotparser.RobotFileParser]:
        parser = urllib.robotparser.RobotFileParser(url)
        try:
            response = self._get(url, {})
        except FetchError:
            return None
        if response.status_code >= 500:
            return None
        parser.parse(response.text.splitlines() if response.status_code == 200 else [])
        return parser

    # ----------------------------------------------------------------- folders
    def _poll_folder(self, state: SourceState) -> WatchOutcome:
        from .ingest import expand_inputs

        seen = json.loads(state.seen or "{}")
        scratch = IngestReport(run_id="watch")
        paths = list(expand_inputs([state.source], scratch))
        changed = {}
        for path in paths:
            try:
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError:
                continue
            if seen.get(path) != digest:
                changed[path] = digest
        if not changed:
            return WatchOutcome(state.source, "unchanged", _now())
        from .ingest import ingest

        report = ingest(list(changed), self.store)
        seen.update(changed)
        state.seen = json.dumps(seen, sort_keys=True)
        return self._outcome(state.source, report, None)

    # ----------------------------------------------------------------- ingest
    def _ingest_bytes(self, url: str, data: bytes, content_type: str) -> IngestReport:
        """Ingest fetched bytes through the library's readers; articles keep the URL as their source."""
        from .ingest import ingest

        name = Path(urlsplit(url).path).name or "index"
        ext = _EXT_BY_TYPE.get(content_type.split(";")[0].strip().lower(), "")
        if ext and not name.lower().endswith(ext) and "." not in name:
            name += ext
        with tempfile.TemporaryDirectory(prefix="storydesk-watch-") as folder:
            path = os.path.join(folder, "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-100:])
            Path(path).write_bytes(data)
            report = ingest([path], self.store)
        for outcome in report.outcomes:
            outcome.path = url
            if outcome.status == "added" and outcome.article_id:
                self._point_at(url, outcome.article_id)
        return report

    def _point_at(self, url: str, article_id: str) -> None:
        article = self.store.get_article(article_id)
        article.source.path = None
        article.source.url = article.source.url or url
        self.store.update_article(article)

    @staticmethod
    def _outcome(source: str, report: IngestReport, http_status: Optional[int]) -> WatchOutcome:
        added = [o.article_id for o in report.outcomes if o.status == "added" and o.article_id]
        failed = [f"{o.path}: {o.reason}" for o in report.outcomes if o.status == "failed"]
        status = "new" if added else ("failed" if failed and not report.count("present") else "unchanged")
        return WatchOutcome(source, status, _now(), added=added, present=report.count("present"),
                            error="; ".join(failed)[:500] or None, http_status=http_status)


def watch(store: SQLiteStore, sources: list[str], every: float, *, rounds: Optional[int] = None,
          on_poll: Optional[Callable[[list[WatchOutcome]], None]] = None, **options) -> None:
    """Poll ``sources`` every ``every`` seconds (``rounds`` times, or until interrupted)."""
    watcher = Watcher(store, **options)
    n = 0
    while rounds is None or n < rounds:
        started = time.monotonic()
        outcomes = watcher.poll(sources)
        if on_poll:
            on_poll(outcomes)
        n += 1
        if rounds is not None and n >= rounds:
            break
        watcher.sleep(max(0.0, every - (time.monotonic() - started)))
