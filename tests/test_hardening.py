"""Issue 10: every input is read or refused by name, limits hold, nothing reaches the terminal raw.

Each test builds the hostile input it is about (no fetched data), ingests it, and checks the
outcome: articles stored, or a named failure for that input or entry alone.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from storydesk import errors, sanitize
from storydesk.cli import cli
from storydesk.ingest import ingest
from storydesk.ingest.dates import iso_date, struct_to_iso
from storydesk.store import SQLiteStore, migrations

from conftest import FIXTURES, ROOT

BODY = ("Rescuers in Lorrin said on Sunday that the floodwater had begun to drain from the lower town, "
        "and that shelters would stay open for the week while engineers inspect the damaged dam.")


def _run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _outcomes(report):
    return [(o.status, o.reason or "") for o in report.outcomes]


def _internal(report):
    return [o.reason for o in report.outcomes if "internal error" in (o.reason or "")]


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return str(path)


def _page(body_html: str, title: str = "Floodwater drains from Lorrin") -> str:
    return (f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{body_html}</article></body></html>")


def _warc(records, compress=True) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=compress)
    for uri, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers))
    return buf.getvalue()


# -- control characters in HTML, wherever the HTML comes from -------------------------------

@pytest.mark.parametrize("bad", ["\x0c", "\x0b", "&#11;", "&#x0C;", "\x01", "&#0;"])
def test_control_character_in_html_does_not_lose_the_page(store, tmp_path, bad):
    page = _page(f"<p>{BODY}{bad} More text follows.</p><p>{BODY}</p>")
    report = ingest([_write(tmp_path, "p.html", page)], store)
    assert report.count("added") == 1, _outcomes(report)


def test_control_character_in_html_inside_json_feed_and_warc(store, tmp_path):
    frag = f"<p>{BODY}\x0c</p><p>Second&#11; paragraph of the report, with more words.</p>"
    paths = [
        _write(tmp_path, "d.json", json.dumps({"title": "Flood", "text": frag, "source": "Gazette"})),
        _write(tmp_path, "f.rss", "<?xml version='1.0'?><rss version='2.0'><channel><title>Feed</title><item>"
                                  f"<title>Flood</title><description><![CDATA[{frag.replace(chr(12), '')}&#11;]]>"
                                  "</description></item></channel></rss>"),
        _write(tmp_path, "a.warc.gz", _warc([("https://x.example/a", _page(frag).encode())])),
    ]
    report = ingest(paths, store)
    assert report.count("added") == 3, _outcomes(report)


# -- JSON ---------------------------------------------------------------------------------------

def test_deep_json_is_a_named_error(store, tmp_path):
    report = ingest([_write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)], store)
    (o,) = report.outcomes
    assert o.status == "failed" and "nested more than" in o.reason


def test_huge_integer_and_huge_date_become_unknown_and_flagged(store, tmp_path):
    items = [None,
             {"text": BODY + " Second.", "source": "B", "published": 10 ** 30},
             {"text": BODY + " Third.", "source": "C", "published": True}]
    text = json.dumps(items[1:]).replace("]", ',{"text": "' + BODY + ' First.", "source": "A", "published": '
                                         + "9" * 5000 + "}]")
    report = ingest([_write(tmp_path, "big.json", text)], store)
    assert report.count("added") == 3 and not _internal(report), _outcomes(report)
    for a in store.articles():
        assert a.published is None and a.published_basis == "unknown"
        assert a.has_flag("unreadable_date")


def test_lone_surrogate_in_json_string_is_replaced_and_flagged(store, tmp_path):
    line = json.dumps({"title": "Flood \ud800 report", "text": BODY + " \udfff", "source": "Wire"})
    report = ingest([_write(tmp_path, "s.json", line)], store)
    assert report.count("added") == 1, _outcomes(report)
    (a,) = store.articles()
    assert "\ufffd" in a.title and a.has_flag("invalid_unicode")


def test_jsonl_bad_lines_fail_alone_and_the_rest_is_read(store, tmp_path):
    lines = [json.dumps({"text": f"{BODY} Entry {i}.", "source": "Wire"}) for i in range(4)]
    lines.insert(1, "[" * 50_000)
    lines.insert(3, '{"text": "' + BODY + ' \\ud800 bad", "source": "Wire", "published": ' + "1" * 5000 + "}")
    lines.insert(4, '{"text": "a\u2028b ' + BODY + '", "source": "Sep"}')  # a raw U+2028 inside a string
    report = ingest([_write(tmp_path, "d.jsonl", "\n".join(lines))], store)
    assert not _internal(report), _outcomes(report)
    assert report.count("added") == 6 and report.count("failed") == 1, _outcomes(report)
    assert [o.entry for o in report.outcomes if o.status == "added"] == [0, 2, 3, 4, 5, 6]


def test_jsonl_line_over_the_limit_is_refused_alone(store, tmp_path):
    big = json.dumps({"text": BODY + " x" * 700_000, "source": "Big"})
    lines = [json.dumps({"text": BODY, "source": "A"}), big, json.dumps({"text": BODY, "source": "B"})]
    report = ingest([_write(tmp_path, "d.jsonl", "\n".join(lines))], store, max_mb=1)
    assert report.count("added") == 2
    (bad,) = [o for o in report.outcomes if o.status == "failed"]
    assert "line 2 is over" in bad.reason and "--max-mb" in bad.reason


# -- dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0000-01-01", "-0001-01-01", "10000-01-01", "March 3", 10 ** 400, -5, 0,
                                   float("nan"), 1e308, True, "2025-13-45", "Sat, 01 Jan 0000 00:00:00 GMT",
                                   {"a": 1}, "x" * 10_000])
def test_impossible_dates_are_unknown(value):
    assert iso_date(value) is None


@pytest.mark.parametrize("value,expected", [("2025-10-24", "2025-10-24"), (1761300000, "2025-10-24T10:00:00+00:00"),
                                            ("Fri, 24 Oct 2025 08:15:00 GMT", "2025-10-24T08:15:00+00:00"),
                                            ("24 October 2025", "2025-10-24")])
def test_possible_dates_are_read(value, expected):
    assert iso_date(value) == expected


def test_feed_dates_and_empty_content(store, tmp_path):
    assert struct_to_iso((0, 1, 1, 0, 0, 0, 0, 1, 0)) is None
    feed = ("<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Valley</title>"
            f"<entry><title>One</title><updated>0000-01-01T00:00:00Z</updated><content type='html'/>"
            f"<summary>{BODY}</summary></entry>"
            f"<entry><title>Two</title><updated>-0001-01-01T00:00:00Z</updated><summary>{BODY} Two.</summary></entry>"
            "</feed>")
    report = ingest([_write(tmp_path, "f.atom", feed)], store)
    assert report.count("added") == 2 and not _internal(report), _outcomes(report)
    for a in store.articles():
        assert a.published is None, a.published  # never 2000-01-01
        assert a.has_flag("unreadable_date")


def _rss(title: str, body: str, declaration: str = "") -> str:
    return (f"<?xml version='1.0'{declaration}?><rss version='2.0'><channel><title>Valley{title}</title><item>"
            f"<title>Flood{title} report</title><pubDate>Fri, 24 Oct 2025 08:00:00 GMT</pubDate>"
            f"<description>{body}</description></item></channel></rss>")


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#xDFFF;", "&#1114112;", "&#11;"])
def test_feed_with_a_character_reference_xml_cannot_hold_is_read(store, tmp_path, ref):
    # feedparser turned "&#xD800;" into a lone surrogate and failed the whole feed on it
    report = ingest([_write(tmp_path, "f.rss", _rss(ref, f"{BODY} {ref} more"))], store)
    assert report.count("added") == 1 and not _internal(report), _outcomes(report)
    (a,) = store.articles()
    assert a.title == "Flood  report" and a.outlet == "Valley"


def test_feed_with_an_encoded_lone_surrogate_is_not_read_as_windows_1252(store, tmp_path):
    # "\xed\xa0\x80" (a surrogate written as UTF-8) made feedparser decode the whole feed as cp1252
    data = _rss(" caf\u00e9", f"{BODY} caf\u00e9 \ud800 more").encode("utf-8", "surrogatepass")
    report = ingest([_write(tmp_path, "f.rss", data)], store)
    assert report.count("added") == 1 and not _internal(report), _outcomes(report)
    (a,) = store.articles()
    assert a.title == "Flood caf\u00e9 report" and "caf\u00e9 \ufffd more" in a.text
    assert a.has_flag("invalid_unicode") and not a.has_flag("encoding")


def test_feed_in_a_declared_legacy_encoding_is_read(store, tmp_path):
    data = _rss(" caf\u00e9", f"{BODY} caf\u00e9", " encoding='iso-8859-1'").encode("latin-1")
    report = ingest([_write(tmp_path, "f.rss", data)], store)
    assert report.count("added") == 1, _outcomes(report)
    assert store.articles()[0].title == "Flood caf\u00e9 report"


def test_feed_whose_bytes_name_a_file_is_not_opened(store, tmp_path):
    # feedparser.parse(bytes) opens the bytes as a path: "/dev/zero" read until the memory ran out
    for name in ("/dev/zero", str(FIXTURES / "feed.rss")):
        report = ingest([_write(tmp_path, "f.rss", name)], store)
        assert report.count("added") == 0 and not _internal(report), _outcomes(report)
        assert [o.status for o in report.outcomes] == ["failed"]


# -- WARC ---------------------------------------------------------------------------------------

def test_truncated_warc_keeps_the_records_before_the_break(store, tmp_path):
    data = _warc([("https://x.example/a", _page(f"<p>{BODY}</p>").encode()),
                  ("https://x.example/b", _page(f"<p>{BODY} Second page.</p>", "Second").encode())], compress=False)
    cut = data.rfind(b"WARC-Target-URI")
    report = ingest([_write(tmp_path, "t.warc", data[:cut + 12])], store)
    assert report.count("added") == 1 and not _internal(report), _outcomes(report)
    assert any(o.status == "failed" and "truncated or corrupt" in o.reason for o in report.outcomes)


def test_warc_bomb_is_refused_without_inflating_it(store, tmp_path):
    bomb = _warc([("https://x.example/small", _page(f"<p>{BODY}</p>").encode()),
                  ("https://x.example/bomb", b"<p>" + b"a" * 60_000_000 + b"</p>")])
    assert len(bomb) < 200_000
    cpu = time.process_time()
    report = ingest([_write(tmp_path, "b.warc.gz", bomb)], store, max_mb=1)
    assert time.process_time() - cpu < 5  # inflating all 60 MB through warcio takes far longer
    assert report.count("added") == 1
    assert any(o.status == "failed" and "over" in o.reason and "--max-mb" in o.reason for o in report.outcomes)


def test_warc_record_without_a_type_is_skipped_by_name(store, tmp_path):
    # warcio gives rec_type None when WARC-Type is missing; sorting the skipped kinds raised TypeError
    good = _warc([("https://x.example/a", _page(f"<p>{BODY}</p>").encode())], compress=False)
    untyped = good.replace(b"WARC-Type: response\r\n", b"")
    report = ingest([_write(tmp_path, "u.warc", untyped + good + _warc([("https://x.example/b", b"x")],
                                                                       compress=False).replace(
        b"WARC-Type: response\r\n", b"WARC-Type: resource\r\n"))], store)
    assert not _internal(report), _outcomes(report)
    assert report.count("added") == 1
    assert any("untyped WARC" in (o.reason or "") and "resource" in o.reason for o in report.outcomes)
    report = ingest([_write(tmp_path, "only.warc", untyped)], store)
    assert not _internal(report) and [o.status for o in report.outcomes] == ["failed"], _outcomes(report)


# -- paths ----------------------------------------------------------------------------------------

def test_undecodable_file_name_does_not_stop_the_batch(store, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    bad = os.fsencode(str(folder)) + b"/caf\xe9.txt"
    with open(bad, "wb") as fh:
        fh.write(("Flood in Lorrin\n\n" + BODY).encode())
    (folder / "z_after.txt").write_text("Second report\n\n" + BODY + " And more.", encoding="utf-8")
    report = ingest([str(folder)], store)
    assert report.count("added") == 2, _outcomes(report)
    assert any("\ufffd" in o.path for o in report.outcomes)


def test_unreadable_folder_is_reported(store, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    (folder / "locked").mkdir(parents=True)
    (folder / "ok.txt").write_text("Report\n\n" + BODY, encoding="utf-8")
    real = os.scandir

    def scandir(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    report = ingest([str(folder)], store)
    assert report.count("added") == 1
    assert any(o.status == "failed" and "cannot read the folder" in o.reason and o.path.endswith("locked")
               for o in report.outcomes)


def test_symlink_loops_end(store, tmp_path):
    root = tmp_path / "crawl"
    (root / "a").mkdir(parents=True)
    (root / "a" / "r.txt").write_text("Report\n\n" + BODY, encoding="utf-8")
    for name in ("up1", "up2", "up3"):
        os.symlink("..", root / "a" / name)
    report = ingest([str(root / "**" / "*.txt"), str(root)], store)
    assert report.count("added") == 1 and report.count("present") == 1


# -- stores ---------------------------------------------------------------------------------------

def _db_error(path: str) -> str:
    result = _run("articles", "--db", path)
    assert result.exit_code == errors.StoreError.exit_code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_db_that_is_not_a_store_is_a_named_error(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("my shopping list\n")
    assert "not an SQLite database" in _db_error(str(text))
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE moz_places (id INTEGER)")
    con.commit()
    con.close()
    assert "another program" in _db_error(str(other))
    assert "not a regular file" in _db_error("/dev/null")
    assert "folder" in _db_error(str(tmp_path))
    con = sqlite3.connect(other)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["moz_places"]  # left untouched


def test_truncated_db_is_a_named_error(tmp_path):
    good = tmp_path / "good.db"
    with SQLiteStore(str(good)) as store:
        ingest([str(FIXTURES / "dump.json")], store)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = good.read_bytes()
    for n, cut in enumerate((len(data) // 2, 4096, 50)):
        bad = tmp_path / f"cut{n}.db"
        bad.write_bytes(data[:cut])
        assert "truncated" in _db_error(str(bad))


def test_read_only_db_is_a_named_error():
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="storydesk-ro-", dir="/tmp"))  # a folder "nobody" may enter
    path = folder / "ro.db"
    SQLiteStore(str(path)).close()
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    try:
        code = textwrap.dedent(f"""
            import os, sys
            sys.path.insert(0, {str(ROOT)!r})
            from storydesk.errors import ReadOnlyStore
            from storydesk.store import SQLiteStore
            if os.geteuid() == 0:  # root writes anything: drop to nobody to be refused like a user
                os.setgid(65534); os.setuid(65534)
            try:
                SQLiteStore({str(path)!r})
            except ReadOnlyStore as exc:
                print("named:", exc)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    finally:
        os.chmod(folder, 0o755)
        os.chmod(path, 0o644)
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    assert "named:" in out.stdout and "cannot be written" in out.stdout, out.stdout + out.stderr


def test_two_processes_create_one_new_store_at_once(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from storydesk.store import SQLiteStore
        start = float(sys.argv[2])
        while time.time() < start:
            pass
        with SQLiteStore(sys.argv[1]) as s:
            print(s.schema_version)
    """)
    latest = migrations()[-1][0]
    for trial in range(6):
        db = str(tmp_path / f"race{trial}.db")
        start = str(time.time() + 1.5)
        procs = [subprocess.Popen([sys.executable, "-c", code, db, start], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [r[1][-500:] for r in results]
        assert [int(r[0]) for r in results] == [latest, latest]


def test_raw_input_stored_once_per_file(store, tmp_path):
    lines = [json.dumps({"text": f"{BODY} Entry {i}.", "source": "Wire"}) for i in range(30)]
    report = ingest([_write(tmp_path, "d.jsonl", "\n".join(lines))], store)
    assert report.count("added") == 30
    assert store.db.execute("SELECT count(*) FROM raw_inputs").fetchone()[0] == 1
    shas = {a.raw_sha256 for a in store.articles()}
    assert len(shas) == 1 and store.get_raw(shas.pop()) == "\n".join(lines).encode()


# -- output ----------------------------------------------------------------------------------------

HOSTILE_TITLE = "Flood\x1b]0;pwned\x07 in \x1b[2JLorrin\u202e"


def test_show_and_articles_never_print_raw_control_characters(tmp_path):
    db = str(tmp_path / "t.db")
    doc = {"title": HOSTILE_TITLE, "source": "Gazette\x1b[31m", "text": BODY + " \x1b[2J Then\x9b more."}
    _run("ingest", _write(tmp_path, "h.json", json.dumps(doc)), "--db", db)
    article_id = json.loads(_run("articles", "--db", db, "--json").output)[0]["id"]
    for args in (("show", article_id), ("articles",), ("show", article_id, "--json"), ("articles", "--json")):
        out = _run(*args, "--db", db).output
        assert not set(out) & {"\x1b", "\x07", "\x9b", "\u202e"}, args
    shown = _run("show", article_id, "--db", db).output
    assert "\\x1b]0;pwned\\x07" in shown
    assert json.loads(_run("show", article_id, "--db", db, "--json").output)["title"] == HOSTILE_TITLE


def test_failing_file_name_with_newline_prints_as_one_line(tmp_path):
    name = tmp_path / "evil\nfailed: passwd: forged.txt"
    name.write_bytes(b"")
    result = CliRunner().invoke(cli, ["ingest", str(name), "--db", str(tmp_path / "t.db")])
    lines = [ln for ln in result.output.splitlines() if ln.startswith("failed")]
    assert len(lines) == 1 and "\\x0a" in lines[0] and lines[0].startswith("failed: '")


def test_markdown_briefing_escapes_control_characters():
    import briefing_sample as sample

    from storydesk.render.markdown import render_markdown

    b = sample.briefing()
    b.articles[0].title = HOSTILE_TITLE
    b.articles[0].outlet = "Wire\x1b[2J"
    text = render_markdown(b)
    assert not set(text) & {"\x1b", "\x07", "\u202e"}
    assert "x1b" in text


def test_sanitiser():
    assert sanitize.terminal("a\x1b[2Jb\nc\td") == "a\\x1b[2Jb\nc\td"
    assert sanitize.line("a\nb\rc") == "a\\x0ab\\x0dc"
    assert sanitize.terminal("\u202eevil") == "\\u202eevil"
    assert sanitize.path("plain/name.txt") == "plain/name.txt"
    assert sanitize.path("two words\n.txt") == "'two words\\x0a.txt'"
    assert json.loads(sanitize.json_text(json.dumps({"t": "a\x9bb\u202e"}, ensure_ascii=False)))["t"] == "a\x9bb\u202e"


# -- install ---------------------------------------------------------------------------------------

def test_html_ingest_can_import_what_it_needs():
    """lxml 6 dropped lxml.html.clean; trafilatura's justext path needs it (pinned: lxml_html_clean)."""
    import importlib

    importlib.import_module("lxml.html.clean")
    import justext  # noqa: F401  (imports lxml.html.clean itself)
    import trafilatura

    assert trafilatura.bare_extraction(_page(f"<p>{BODY}</p><p>{BODY}</p>"), with_metadata=True) is not None
    reqs = (ROOT / "requirements.txt").read_text()
    assert "lxml_html_clean==" in reqs or "trafilatura[" in reqs


# -- text functions ----------------------------------------------------------------------------------

def test_last_winter_in_january():
    from storydesk.analysis import timex

    values = {t.text: t.value for t in timex.tag("It was worse last winter than next winter.", "2025-01-15")}
    assert values == {"last winter": "2023-WI", "next winter": "2025-WI"}
    assert timex.tag("last winter", "2025-03-10")[0].value == "2024-WI"


def test_sentence_splitter_on_runs_of_abbreviations_keeps_its_rules():
    from storydesk.text import sentence_spans

    text = "Gen. Tchiani met Mr. J. Smith. " * 300 + "They left."
    spans = sentence_spans(text)
    assert len(spans) == 301 and text[slice(*spans[0])] == "Gen. Tchiani met Mr. J. Smith."
    dots = "Wait" + "." * 50_000 + " Then it broke."
    assert [dots[s:e] for s, e in sentence_spans(dots)][-1] == "Then it broke."


def test_figures_of_long_sentences_and_huge_numbers():
    import datetime as dt

    from storydesk.analysis.figures import sentence_figures
    from storydesk.analysis.numbers import _rounding

    assert _rounding(float("1" * 310)) == 0.0
    assert sentence_figures("Officials said " + "9" * 310 + " people died.") == []
    long = "Officials said " + "12 people died in the northern district of Selm, " * 100 + "and 3 died in Lorrin."
    found = sentence_figures(long, dt.date(2025, 1, 15))
    assert found and {f.value for f in found} <= {12.0, 3.0}
    assert all(long[f.span[0]:f.span[1]] == f.text for f in found)
    assert len(sentence_figures("Donors pledged " + "1, " * 3000 + "1 dollars.")) <= 1  # a list, not 3,000 figures


def test_byline_pattern_still_reads_bylines():
    from storydesk.ingest.clean import clean_text

    c = clean_text(f"Flood drains from Lorrin\n\nBy Anna Smith and John Doe\n\n{BODY}\n\n"
                   "By big margins, those surveyed say, residents and officials:\n\nMore text follows here.")
    assert c.authors == ["Anna Smith", "John Doe"]
    assert "By big margins" in c.text


def test_time_tagger_overlaps_and_long_sentences_of_expressions():
    from types import SimpleNamespace

    from storydesk.analysis import timex

    rule = [SimpleNamespace(order=i) for i in range(3)]
    cands = [(0, 5, rule[1], "a"), (0, 5, rule[0], "b"), (5, 9, rule[2], "c"), (7, 9, rule[0], "d"),
             (12, 14, rule[2], "e"), (13, 15, rule[0], "f")]
    # the longest first, a tie to the earlier rule; touching spans are both kept, overlapping are not
    assert [c[3] for c in timex._resolve_overlaps(cands)] == ["b", "c", "f"]
    text = "It rained " + "last week, last winter, on Sunday, " * 400 + "today."
    tags = timex.tag(text, "2025-01-15")
    assert len(tags) == 1201 and [t.text for t in tags[:3]] == ["last week", "last winter", "Sunday"]


# -- UTF-16 and UTF-32 inputs -----------------------------------------------------------
_WIDE_BODY = ("The county closed the old bridge over the Marren on Monday after the storm cracked two "
              "of its supports, and engineers will inspect it before Friday, officials said.")
_WIDE_INPUTS = {
    "feed.rss": ('<?xml version="1.0" encoding="UTF-16"?><rss version="2.0"><channel><title>Valley Wire'
                 "</title><item><title>Bridge closed</title><link>http://example.org/b</link>"
                 f"<description>{_WIDE_BODY}</description></item></channel></rss>"),
    "page.html": f"<html><head><title>Bridge closed</title></head><body><p>{_WIDE_BODY}</p></body></html>",
    "story.json": json.dumps({"title": "Bridge closed", "text": _WIDE_BODY}),
    "note.txt": f"Bridge closed\n\n{_WIDE_BODY}\n",
}


@pytest.mark.parametrize("encoding,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                          ("utf-16-le", b""), ("utf-32-le", b"\xff\xfe\x00\x00")])
@pytest.mark.parametrize("name", sorted(_WIDE_INPUTS))
def test_wide_unicode_inputs_are_read_and_flagged(store, tmp_path, name, encoding, bom):
    path = tmp_path / name
    path.write_bytes(bom + _WIDE_INPUTS[name].encode(encoding))
    outcomes = ingest([str(path)], store, progress=False).outcomes
    assert [o.status for o in outcomes] == ["added"], [o.reason for o in outcomes]
    article = store.get_article(outcomes[0].article_id)
    assert "cracked two of its supports" in article.text
    assert any(f.kind == "encoding" and encoding in f.detail for f in article.flags)
    assert store.get_raw(article.raw_sha256) == path.read_bytes()  # the bytes given are kept


def test_nul_bytes_that_are_not_utf16_are_still_refused(store, tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"\xff\xfe" + bytes(range(256)) * 8 + b"\x00\xd8")
    outcomes = ingest([str(path)], store, progress=False).outcomes
    assert [o.status for o in outcomes] == ["failed"] and "binary" in outcomes[0].reason


def test_runs_of_punctuation_are_parsed_in_pieces_with_every_offset_kept():
    from storydesk.models.nlp import PUNCT_RUN, _break_runs

    text = "See " + "(" * 5000 + "photo) and $$$ and " + "!?" * 300 + " end."
    broken = _break_runs(text)
    assert len(broken) == len(text) and all(a == b or b == " " for a, b in zip(text, broken))
    assert max(len(run) for run in broken.split()) <= PUNCT_RUN + len("photo)")
    assert _break_runs("A line of ----- and a URL https://a.example/x?y=1&z=2 stay.") == \
        "A line of ----- and a URL https://a.example/x?y=1&z=2 stay."
