"""Fuzz every reader: mutated and generated inputs, each ingested in a child process.

Per format it prints: inputs, ok (articles or per-entry outcomes only), named errors (the file
failed with one of storydesk's named errors), other exceptions ("internal error" outcomes, or a
child that crashed), hangs (over --slow seconds), the slowest input and the peak RSS of a child.
Targets (issue 10): >= 2,000 inputs per format, 0 other exceptions, 0 inputs <= 1 MB over 5 s.

Seeds are the repository's own fixtures and fictional sample corpus. Each input runs in a forked
child with an address-space limit (--mem-mb) and a CPU-time limit (--kill CPU seconds, RLIMIT_CPU);
a child still running after WALL_FACTOR x --kill wall seconds (blocked, not computing) is killed too.
Both count as hangs. A wall-clock limit alone killed inputs that used under 1 CPU-s on a busy machine.
Run: python benchmarks/fuzz.py [--n 2000] [--jobs 2] [--seed 10] [--formats json,feed]
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import pickle
import random
import resource
import select
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FORMATS = ("text", "html", "json", "jsonl", "feed", "warc")
_EXT = {"text": "txt", "html": "html", "json": "json", "jsonl": "jsonl", "feed": "rss", "warc": "warc.gz"}
_TOKENS = [b"\x0b", b"\x0c", b"\x1b]0;pwned\x07", b"\x1b[2J", b"\x00", b"\x7f", b"\x85", b"&#11;", b"&#12;",
           b"&#0;", b"&#xD800;", b"&#1114112;", b"\\ud800", b"\\udfff", b"\xed\xa0\x80", b"\xff\xfe", b"<", b">",
           b"</", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"{", b"}", b"[", b"]", b'"', b"\\", b"\n", b"\r",
           b"\r\n", b"\n\n", b"9" * 5000, b"1e999", b"-0001-01-01", b"0000-00-00", b"99999999999999999999",
           b"Mr. " * 50, b"1, " * 200, b"By big margins, those surveyed say ", b"\xe2\x80\xae", b"\xef\xbb\xbf",
           b"<div>" * 300, b"&amp;" * 100, b"&", b";", b"%s%n", b"\t"]


@dataclass
class Tally:
    inputs: int = 0
    ok: int = 0
    named: int = 0
    other: int = 0
    hangs: int = 0
    slowest: float = 0.0
    slowest_bytes: int = 0
    peak_rss_mb: float = 0.0
    examples: list = field(default_factory=list)


# -- seeds -------------------------------------------------------------------

def seeds() -> dict[str, list[bytes]]:
    """The repository's own inputs, by format."""
    fx, corpus = ROOT / "tests" / "fixtures", ROOT / "examples" / "corpus"
    out: dict[str, list[bytes]] = {f: [] for f in FORMATS}
    for folder in (fx, corpus):
        for p in sorted(folder.iterdir()):
            fmt = {".txt": "text", ".html": "html", ".json": "json", ".jsonl": "jsonl", ".rss": "feed",
                   ".atom": "feed"}.get(p.suffix)
            if p.name.endswith(".warc.gz"):
                fmt = "warc"
            if fmt:
                out[fmt].append(p.read_bytes())
    out["warc"].append(warc([("https://a.example/x", "text/html; charset=utf-8", s) for s in out["html"][:2]],
                            compress=False))
    return out


def warc(records: list[tuple[str, str, bytes]], compress: bool = True) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=compress)
    for uri, ctype, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                      http_headers=headers))
    return buf.getvalue()


# -- mutations -----------------------------------------------------------------

def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One to four random byte-level edits (one edit in eight is :func:`widen`)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op in (1, 2):
            buf[pos:pos] = rng.choice(_TOKENS)
        elif op == 3:
            del buf[pos:pos + rng.randint(1, 200)]
        elif op == 4:
            buf = buf[:pos]
        elif op == 5 and buf:
            a = rng.randrange(len(buf))
            buf[pos:pos] = buf[a:a + rng.randint(1, 400)] * rng.randint(1, 8)
        elif op == 7:
            buf = bytearray(widen(bytes(buf), rng))
        else:
            other = rng.choice(pool)
            buf = buf[:pos] + other[rng.randrange(len(other) + 1):]
    return bytes(buf)


_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
_WIDE = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")


def widen(data: bytes, rng: random.Random) -> bytes:
    """UTF-16/32 and BOM trouble (the readers take wide inputs since detect.wide_unicode): a BOM that
    does not match the bytes, or the input re-encoded (with or without BOM) as it is, with a stray odd
    byte, a lone surrogate code unit or a code point over U+10FFFF in it, or cut inside a code unit."""
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(_BOMS) + data
    text = data.decode("utf-8", "replace")
    encoding = rng.choice(_WIDE)
    wide = bytearray(text.encode(encoding, "surrogatepass"))
    unit = 4 if "32" in encoding else 2
    at = rng.randrange(len(wide) // unit + 1) * unit
    big = encoding.endswith("be")
    if kind == 1:  # clean: the reader must take it
        pass
    elif kind == 2:  # a stray byte: the length is no longer a whole number of code units
        stray = rng.randrange(len(wide) + 1)
        wide[stray:stray] = bytes([rng.randrange(256)])
    elif kind == 3:  # a lone surrogate code unit (high or low)
        s = rng.choice([0xD800, 0xDBFF, 0xDC00, 0xDFFF])
        wide[at:at] = s.to_bytes(unit, "big" if big else "little")
    elif kind == 4:  # UTF-32 past U+10FFFF, or UTF-16 NUL code units
        wide[at:at] = (0x110000 if unit == 4 else 0).to_bytes(unit, "big" if big else "little")
    else:  # cut inside a code unit
        wide = wide[:max(0, rng.randrange(len(wide) + 1) | 1)]
    return bytes(wide)


_WORDS = ("the council said on Sunday that 12 people died after the dam broke near Lorrin and "
          "rescuers were searching for 40 missing residents while officials gave conflicting figures").split()


def _prose(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def _nasty_string(rng: random.Random) -> str:
    return rng.choice(["\x0b", "\x0c", "\x1b[2J", "\x1b]0;title\x07", "\ud800", "\udfff", "\u202e", "\x00",
                       "&#11;", "By big margins, those surveyed say " + "a " * rng.randint(1, 40),
                       "Mr. " * rng.randint(1, 300), "1, " * rng.randint(1, 300), "12 million, " * 50,
                       "J. " * 200, "\"" * 100, "last winter", ""])


def _nasty_date(rng: random.Random):
    return rng.choice([0, -1, 10 ** 30, 1e308, float("nan") if rng.random() < 0.1 else 1.5e12,
                       "0000-01-01", "-0001-01-01", "9999-12-31T23:59:59", "2025-13-45", "10000-01-01",
                       "Sat, 01 Jan 0000 00:00:00 GMT", "yesterday", "\ud800", 10 ** 400, True, [], {"a": 1},
                       "2025-10-24T08:00:00+25:00", "  ", "1e9999"])


def _article_obj(rng: random.Random) -> dict:
    obj = {"title": _prose(rng, 6)[:-1], "text": _prose(rng, rng.randint(10, 80)), "source": "Fuzz Wire",
           "published": "2025-10-24"}
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(["title", "text", "source", "published", "author", "url", "language", "outlet"])
        obj[key] = rng.choice([_nasty_string(rng) + _prose(rng, 30), _nasty_date(rng), None, 10 ** 5000,
                               {"name": _nasty_string(rng)}, [_nasty_string(rng)], obj.get("text", "")])
    return obj


def _deep(n: int) -> str:
    return "[" * n + "]" * n if n % 2 else '{"a":' * n + "1" + "}" * n


def _dumps(obj, rng: random.Random) -> str:
    try:
        return json.dumps(obj, ensure_ascii=bool(rng.getrandbits(1)))
    except (ValueError, TypeError):  # int too long to print, nan: write it by hand
        return '{"text": "' + "1" * 5000 + '", "published": ' + "9" * 5000 + "}"


def generate(fmt: str, rng: random.Random) -> bytes:
    """An input built from the format's grammar with hostile values in it."""
    if fmt == "json":
        shape = rng.randrange(4)
        if shape == 0:
            return _deep(rng.choice([100, 1000, 5000, 100000])).encode()
        items = [_article_obj(rng) for _ in range(rng.randint(1, 5))]
        body = {"articles": items} if shape == 1 else items if shape == 2 else items[0]
        return _dumps(body, rng).encode("utf-8", "surrogatepass")
    if fmt == "jsonl":
        lines = [_dumps(_article_obj(rng), rng) for _ in range(rng.randint(2, 8))]
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([_deep(rng.choice([3000, 50000])), "1" * 5000,
                                                               '{"text": "\\ud800 x y z w v"}', "not json", "[]"]))
        return "\n".join(lines).encode("utf-8", "surrogatepass")
    if fmt == "feed":
        return _feed(rng).encode("utf-8", "surrogatepass")
    if fmt == "html":
        return _html(rng).encode("utf-8", "surrogatepass")
    if fmt == "warc":
        return _warc_gen(rng)
    return (f"{_nasty_string(rng)}\n\n" + "\n\n".join(_prose(rng, 30) + _nasty_string(rng) for _ in range(4))
            ).encode("utf-8", "surrogatepass")


def _html(rng: random.Random) -> str:
    paras = "".join(f"<p>{_prose(rng, 25)}{_nasty_string(rng)}</p>" for _ in range(rng.randint(2, 6)))
    head = f"<title>{_nasty_string(rng)}Flood</title><meta property='article:published_time' " \
           f"content='{_nasty_date(rng)}'>"
    wrap = "<div>" * rng.choice([0, 5, 500])
    return f"<!doctype html><html><head>{head}</head><body>{wrap}<article>{paras}</article></body></html>"


def _feed(rng: random.Random) -> str:
    items = []
    for _ in range(rng.randint(1, 4)):
        date = rng.choice(["Sat, 01 Jan 0000 00:00:00 GMT", "Fri, 24 Oct 2025 08:00:00 GMT", "-0001-01-01",
                           "Mon, 31 Feb 2025 10:00:00 GMT", "garbage", "Thu, 01 Jan 9999 23:59:59 +2400"])
        body = rng.choice([f"<![CDATA[<p>{_prose(rng, 40)}</p>]]>", _prose(rng, 40) + _nasty_string(rng).replace("<", ""),
                           "", "&#11;" + _prose(rng, 40)])
        if rng.random() < 0.3:
            items.append(f"<entry><title>{_prose(rng, 5)}</title><updated>{date}</updated>"
                         f"<content type='html'/><summary>{_prose(rng, 20)}</summary></entry>")
        else:
            items.append(f"<item><title>{_prose(rng, 5)}</title><pubDate>{date}</pubDate>"
                         f"<description>{body}</description></item>")
    if any(i.startswith("<entry") for i in items):
        return "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Fuzz</title>" + \
            "".join(i for i in items if i.startswith("<entry")) + "</feed>"
    return "<?xml version='1.0'?><rss version='2.0'><channel><title>Fuzz</title>" + "".join(items) + \
        "</channel></rss>"


def _warc_gen(rng: random.Random) -> bytes:
    records = [("https://a.example/%d" % i, "text/html", _html(rng).encode("utf-8", "surrogatepass"))
               for i in range(rng.randint(1, 3))]
    data = warc(records, compress=rng.random() < 0.5)
    cut = rng.randrange(4)
    if cut == 0:  # truncate inside a record header
        at = data.find(b"WARC-Target-URI") if not data.startswith(b"\x1f\x8b") else -1
        data = data[:at + 10] if at > 0 else data[:rng.randrange(len(data))]
    elif cut == 1:  # a bomb-like member: many MB inflated
        body = b"<p>" + b"a" * rng.choice([3_000_000, 30_000_000]) + b"</p>"
        data = warc([("https://b.example/big", "text/html", body)])
    return data


def inputs_for(fmt: str, n: int, seed: int, pool: dict[str, list[bytes]]) -> list[bytes]:
    rng = random.Random(f"{seed}:{fmt}")
    flat = [s for v in pool.values() for s in v]
    out = []
    for i in range(n):
        if i % 3 == 2:
            data = generate(fmt, rng)
            out.append(widen(data, rng) if rng.random() < 0.2 else data)
        else:
            base = rng.choice(pool[fmt]) if rng.random() < 0.85 else generate(fmt, rng)
            if fmt == "warc" and base.startswith(b"\x1f\x8b") and rng.random() < 0.6:
                try:  # mutate inside the compression too, then recompress
                    base = gzip.compress(mutate(gzip.decompress(base), rng, flat), mtime=0)
                    out.append(base)
                    continue
                except (OSError, EOFError):
                    pass
            out.append(mutate(base, rng, flat))
    return out


# -- running one input in a child ------------------------------------------------

WALL_FACTOR = 10  # wall seconds per CPU second of --kill before a child that does not compute is killed


def _child(fmt: str, data: bytes, mem_mb: int, wfd: int, cpu_s: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
    limit = max(1, int(cpu_s + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))  # SIGXCPU, then SIGKILL
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # warcio and feedparser print warnings; the outcome is what counts
    sys.stderr = open(os.devnull, "w")  # also when sys.stderr is not fd 2 (under pytest)
    result = ("crash", "no result")
    try:
        import tempfile

        from storydesk.ingest import ingest
        from storydesk.store import SQLiteStore

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"input.{_EXT[fmt]}")
            with open(path, "wb") as fh:
                fh.write(data)
            with SQLiteStore(":memory:") as store:
                report = ingest([path], store)
        reasons = [o.reason or "" for o in report.outcomes]
        internal = [r for r in reasons if "internal error" in r]
        whole_file = any(o.status == "failed" and o.entry is None and o.path.endswith(path[-12:])
                         for o in report.outcomes) and not report.count("added")
        result = ("other", internal[0][:300]) if internal else ("named", reasons[0][:200]) if whole_file \
            else ("ok", "")
    except BaseException as exc:  # anything escaping ingest() is a bug too
        result = ("other", f"{type(exc).__name__}: {str(exc)[:300]}")
    os.write(wfd, pickle.dumps(result))
    os._exit(0)


def run(fmt: str, items: list[bytes], jobs: int, slow: float, kill: float, mem_mb: int) -> Tally:
    """Run every input of one format in forked children, ``jobs`` at a time."""
    import storydesk.ingest  # noqa: F401  (imported before forking so children start warm)
    import storydesk.ingest.readers as readers

    readers.html_document  # noqa: B018
    for mod in ("trafilatura", "htmldate", "feedparser", "warcio.archiveiterator", "lxml.html"):
        __import__(mod)
    tally = Tally()
    queue = list(enumerate(items))
    running: dict[int, tuple] = {}
    while queue or running:
        while queue and len(running) < jobs:
            idx, data = queue.pop(0)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                _child(fmt, data, mem_mb, w, kill)
            os.close(w)
            running[pid] = (r, time.perf_counter(), data, b"")
        _reap(running, tally, slow, kill, fmt)
    return tally


def _reap(running: dict, tally: Tally, slow: float, kill: float, fmt: str) -> None:
    fds = {v[0]: pid for pid, v in running.items()}
    ready, _, _ = select.select(list(fds), [], [], 0.05)
    for fd in ready:
        pid = fds[fd]
        r, start, data, buf = running[pid]
        chunk = os.read(fd, 65536)
        running[pid] = (r, start, data, buf + chunk)
    now = time.perf_counter()
    for pid, (r, start, data, buf) in list(running.items()):
        if now - start > kill * WALL_FACTOR:
            os.kill(pid, signal.SIGKILL)
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if not done:
            continue
        rest = _drain(r)
        os.close(r)
        del running[pid]
        _count(tally, buf + rest, status, usage, time.perf_counter() - start, data, slow, kill)


def _drain(fd: int) -> bytes:
    out = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        out += chunk


def _count(tally: Tally, payload: bytes, status: int, usage, seconds: float, data: bytes, slow: float,
           kill_s: float) -> None:
    tally.inputs += 1
    tally.peak_rss_mb = max(tally.peak_rss_mb, usage.ru_maxrss / 1024)
    # CPU seconds of the child: on a shared machine wall time measures the neighbours too.
    # A child stopped by its CPU limit, or killed after WALL_FACTOR x --kill wall seconds, is a hang.
    wall, seconds = seconds, usage.ru_utime + usage.ru_stime
    if status & 0x7f == signal.SIGXCPU or (status & 0x7f == signal.SIGKILL and seconds >= kill_s):
        seconds = max(seconds, kill_s)
    elif status & 0x7f == signal.SIGKILL and wall >= kill_s * WALL_FACTOR:
        seconds = max(seconds, wall)
    if seconds > tally.slowest:
        tally.slowest, tally.slowest_bytes = seconds, len(data)
    try:
        kind, detail = pickle.loads(payload)
    except Exception:
        kind, detail = "other", f"child died (status {status}, signal {status & 0x7f})"
    if seconds > slow and len(data) <= 1_000_000:
        tally.hangs += 1
        tally.examples.append(("hang", round(seconds, 1), detail, data[:120]))
    if kind == "other":
        tally.other += 1
        if len(tally.examples) < 12:
            tally.examples.append(("other", detail, data[:120]))
    elif kind == "named":
        tally.named += 1
    else:
        tally.ok += 1


def fuzz(n: int, seed: int, formats=FORMATS, jobs: int = 2, slow: float = 5.0, kill: float = 30.0,
         mem_mb: int = 2048) -> dict[str, Tally]:
    # Import the readers' native modules before forking: a child under the memory limit
    # cannot always map a C extension itself (an ImportError that is not the input's fault).
    import feedparser, regex, trafilatura, warcio  # noqa: F401,E401
    pool = seeds()
    return {fmt: run(fmt, inputs_for(fmt, n, seed, pool), jobs, slow, kill, mem_mb) for fmt in formats}


def main() -> None:
    from _common import print_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="inputs per format")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--slow", type=float, default=5.0)
    ap.add_argument("--kill", type=float, default=30.0, help="CPU seconds a child may use")
    ap.add_argument("--show", action="store_true", help="print example failures")
    args = ap.parse_args()
    rows = []
    wall0, cpu0 = time.perf_counter(), _cpu()
    for fmt in args.formats.split(","):
        t0, c0 = time.perf_counter(), _cpu()
        tally = fuzz(args.n, args.seed, (fmt,), args.jobs, args.slow, args.kill)[fmt]
        rows.append([fmt, tally.inputs, tally.ok, tally.named, tally.other, tally.hangs,
                     f"{tally.slowest:.2f} ({tally.slowest_bytes / 1000:.1f} KB)", f"{tally.peak_rss_mb:.0f}",
                     f"{time.perf_counter() - t0:.0f} / {_cpu() - c0:.0f}"])
        if args.show:
            for ex in tally.examples:
                print(fmt, *ex)
    print_table(f"reader fuzzing (seed {args.seed}, {args.jobs} children at a time; wall "
                f"{time.perf_counter() - wall0:.0f} s, CPU {_cpu() - cpu0:.0f} s)",
                ["format", "inputs", "ok", "named errors", "other exceptions", f"over {args.slow:g} CPU s",
                 "slowest CPU s", "peak RSS MB", "wall/CPU s"], rows)


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
