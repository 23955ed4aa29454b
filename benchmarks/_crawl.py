"""Generate crawl-shaped WARC files (not a benchmark itself; used by scale.py and the tests).

Shaped like a news crawl segment: each page fetch is a request + response pair, most
responses are full news pages (navigation, header, article, related links, footer,
scripts), and the rest is what a crawler also collects: robots.txt, images, CSS, redirects,
404s, revisit records, warcinfo. Duplicates come in the two forms crawls have: the same page
at two URLs (tracking parameters), and the same record again in a later file (overlapping
segments). All text is generated from a fictional vocabulary; no real article is copied.
"""
from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

OUTLETS = ["The Harbour Ledger", "Valley Courier", "Northbank Review", "Meridian Press", "Ostrevia Daily Post",
           "Tenna Valley Gazette", "Dravik Standard", "Korvath Herald"]
PLACES = ["Lorrin", "Tessaly", "Mirna", "Pelgrave", "Korvath", "Ostrevia", "Dravik", "Tarsenia", "Brenholt"]
PEOPLE = ["Anja Veldt", "Tomas Rell", "Mirela Oskan", "Piet Vorhees", "Lena Kastrup", "Ivo Brandt",
          "Sara Quill", "Jonas Meer", "Elif Tarran", "Radu Penn"]
EVENTS = ["the dam inspection", "the ferry inquiry", "the port strike", "the flood relief effort",
          "the council budget vote", "the rail tunnel repairs", "the grain shipment dispute"]
VERBS = ["said", "told reporters", "confirmed", "warned", "added", "insisted"]
NOUNS = ["residents", "engineers", "officials", "volunteers", "inspectors", "farmers", "dock workers"]


@dataclass
class CrawlStats:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    html_pages: int = 0
    distinct_articles: int = 0
    bytes: int = 0


def article_html(rng: random.Random, n: int) -> tuple[str, str]:
    """A realistic news page (chrome around an article) and its outlet."""
    outlet, place, event = rng.choice(OUTLETS), rng.choice(PLACES), rng.choice(EVENTS)
    title = f"{place}: {event.capitalize()} enters day {rng.randint(2, 40)} (report {n})"
    paras = []
    for _ in range(rng.randint(6, 14)):
        who, count = rng.choice(PEOPLE), rng.randint(3, 900)
        paras.append(f"{who}, who has followed {event} in {place} for years, {rng.choice(VERBS)} that "
                     f"{count} {rng.choice(NOUNS)} had been affected since the start of the week. "
                     f"The figure could not be confirmed independently, and a spokesperson for the "
                     f"regional authority in {rng.choice(PLACES)} declined to comment on case {n}-{count}.")
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    related = "".join(f'<li><a href="/news/{rng.randint(1, 99999)}">{rng.choice(PLACES)} '
                      f'{rng.choice(EVENTS)}</a></li>' for _ in range(6))
    day = rng.randint(1, 28)
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}</title>
<meta property="og:site_name" content="{outlet}"><meta name="author" content="{rng.choice(PEOPLE)}">
<meta property="article:published_time" content="2025-10-{day:02d}T0{rng.randint(0, 9)}:15:00Z">
<link rel="stylesheet" href="/static/site.css"><script>window.dataLayer=[];function gtag(){{}}</script></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/subscribe">Subscribe</a></nav></header><main><article><h1>{title}</h1>
<p class="byline">By {rng.choice(PEOPLE)}, {outlet}</p>{body}</article>
<aside><h2>Related</h2><ul>{related}</ul></aside></main>
<footer><p>&copy; 2025 {outlet}. All rights reserved.</p><p>Share this article</p></footer>
<script src="/static/ads.js"></script></body></html>"""
    return html, outlet


def _http(status: str, ctype: str, body: bytes) -> StatusAndHeaders:
    return StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                     ("Server", "nginx")], protocol="HTTP/1.1")


def _response(writer: WARCWriter, uri: str, status: str, ctype: str, body: bytes, rid: str | None = None):
    headers = {"WARC-Record-ID": rid} if rid else None
    record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                       http_headers=_http(status, ctype, body), warc_headers_dict=headers)
    writer.write_record(record)
    return record


def make_crawl(out: Path, files: int, pages_per_file: int, seed: int = 7) -> CrawlStats:
    """Write ``files`` .warc.gz files; about 1 in 12 pages is a duplicate of an earlier one."""
    rng, stats = random.Random(seed), CrawlStats()
    out.mkdir(parents=True, exist_ok=True)
    carried: list[tuple[str, bytes, str]] = []  # records repeated in the next file (segment overlap)
    n = 0
    for f in range(files):
        path = out / f"crawl-{f:04d}.warc.gz"
        with open(path, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            writer.write_record(writer.create_warcinfo_record(path.name, {"software": "storydesk-bench"}))
            _response(writer, f"https://site{f}.example/robots.txt", "200 OK", "text/plain",
                      b"User-agent: *\nDisallow: /search\n")
            for uri, body, rid in carried:
                _response(writer, uri, "200 OK", "text/html; charset=utf-8", body, rid)
                stats.records += 1
                stats.html_pages += 1
            carried = []
            for i in range(pages_per_file):
                n += 1
                html, outlet = article_html(rng, n)
                host = outlet.lower().replace(" ", "-")
                uri, body, rid = f"https://{host}.example/news/{n}", html.encode(), f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}>"
                req = writer.create_warc_record(uri, "request", payload=io.BytesIO(b""),
                                                http_headers=StatusAndHeaders(f"GET /news/{n} HTTP/1.1", [("Host", host)],
                                                                              is_http_request=True))
                writer.write_record(req)
                _response(writer, uri, "200 OK", "text/html; charset=utf-8", body, rid)
                stats.records += 2
                stats.html_pages += 1
                stats.distinct_articles += 1
                roll = rng.random()
                if roll < 0.05:  # the same page again at a tracking URL: same article
                    _response(writer, uri + "?utm_source=feed", "200 OK", "text/html; charset=utf-8", body)
                    stats.records += 1
                    stats.html_pages += 1
                elif roll < 0.08 or (i == 0 and f < files - 1):  # this record again in the next file
                    carried.append((uri, body, rid))
                elif roll < 0.20:
                    img = bytes(rng.getrandbits(8) for _ in range(2048))
                    _response(writer, f"https://{host}.example/img/{n}.jpg", "200 OK", "image/jpeg", img)
                    stats.records += 1
                elif roll < 0.26:
                    _response(writer, f"https://{host}.example/old/{n}", "301 Moved Permanently", "text/html",
                              b"<html><body>Moved</body></html>")
                    stats.records += 1
                elif roll < 0.30:
                    _response(writer, f"https://{host}.example/gone/{n}", "404 Not Found", "text/html",
                              b"<html><body>Not found</body></html>")
                    stats.records += 1
                elif roll < 0.34:
                    _response(writer, f"https://{host}.example/static/site.css", "200 OK", "text/css",
                              b"body{font-family:serif}" * 40)
                    stats.records += 1
        stats.files.append(path)
        stats.bytes += path.stat().st_size
    return stats
