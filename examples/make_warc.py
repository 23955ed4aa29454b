"""Build examples/corpus/archive.warc.gz from the pages in examples/warc_src/.

The archive is deterministic: every record has a fixed WARC-Date and a fixed
WARC-Record-ID, and the HTTP headers carry fixed dates, so running this script
twice produces byte-identical output.

Records, in order:
  0. request   GET https://www.continental-observer.example/world/2025/10/24/grief-and-recrimination-lorrin
  1. response  200 text/html  (continental_observer_grief.html)     -> HTML article entry 0
  2. response  200 text/html  (continental_observer_warnings.html)  -> HTML article entry 1
  3. response  200 text/plain (robots.txt, not an article)

Usage:  python examples/make_warc.py
"""
from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
SRC = HERE / "warc_src"
OUT = HERE / "corpus" / "archive.warc.gz"

HOST = "www.continental-observer.example"
PAGES = [
    # (source file, target URI, WARC-Date, record id, Last-Modified)
    ("continental_observer_grief.html",
     f"https://{HOST}/world/2025/10/24/grief-and-recrimination-lorrin",
     "2025-10-24T09:12:05Z", "<urn:uuid:5d1c7a52-2f0e-4c1b-9a61-000000000002>",
     "Fri, 24 Oct 2025 06:00:00 GMT"),
    ("continental_observer_warnings.html",
     f"https://{HOST}/analysis/2025/10/26/mirna-dam-warnings",
     "2025-10-26T11:30:41Z", "<urn:uuid:5d1c7a52-2f0e-4c1b-9a61-000000000003>",
     "Sun, 26 Oct 2025 09:45:00 GMT"),
]
REQUEST_ID = "<urn:uuid:5d1c7a52-2f0e-4c1b-9a61-000000000001>"
ROBOTS_ID = "<urn:uuid:5d1c7a52-2f0e-4c1b-9a61-000000000004>"
ROBOTS_DATE = "2025-10-26T11:30:40Z"


def http_date(warc_date: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime
    dt = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    return format_datetime(dt, usegmt=True)


def response(writer: WARCWriter, uri: str, body: bytes, ctype: str, warc_date: str,
             record_id: str, last_modified: str | None = None):
    headers = [
        ("Date", http_date(warc_date)),
        ("Server", "nginx"),
        ("Content-Type", ctype),
        ("Content-Length", str(len(body))),
    ]
    if last_modified:
        headers.append(("Last-Modified", last_modified))
    http_headers = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    record = writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), length=len(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": warc_date, "WARC-Record-ID": record_id},
    )
    writer.write_record(record)


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)

        # 0. the request that fetched the first page
        first_uri = PAGES[0][1]
        req_headers = StatusAndHeaders(
            "GET /world/2025/10/24/grief-and-recrimination-lorrin HTTP/1.1",
            [("Host", HOST),
             ("User-Agent", "storydesk-example-crawler/0.1"),
             ("Accept", "text/html,application/xhtml+xml")],
            is_http_request=True,
        )
        req = writer.create_warc_record(
            first_uri, "request", payload=io.BytesIO(b""), length=0,
            http_headers=req_headers,
            warc_headers_dict={"WARC-Date": PAGES[0][2], "WARC-Record-ID": REQUEST_ID,
                               "WARC-Concurrent-To": PAGES[0][3]},
        )
        writer.write_record(req)

        # 1-2. the two HTML article pages
        for name, uri, date, rid, lastmod in PAGES:
            body = (SRC / name).read_bytes()
            response(writer, uri, body, "text/html; charset=utf-8", date, rid, lastmod)

        # 3. a non-HTML response that must not be treated as an article
        robots = (SRC / "robots.txt").read_bytes()
        response(writer, f"https://{HOST}/robots.txt", robots, "text/plain; charset=utf-8",
                 ROBOTS_DATE, ROBOTS_ID)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
