"""Ingest of every input format, idempotence, and every kind of bad input."""
from __future__ import annotations

import gzip
import io
import shutil

import pytest

from storydesk.ingest import build_article, ingest
from storydesk.ingest.readers import RawDoc

from conftest import FIXTURES


def _by_title(store):
    return {a.title: a for a in store.articles()}


def test_html_page_main_text_and_metadata(store):
    report = ingest([str(FIXTURES / "page.html")], store)
    assert report.count("added") == 1
    (article,) = store.articles()
    assert article.outlet == "The Brindle Courier"
    assert article.authors == ["Petra Ansell"]
    assert article.published.startswith("2024-05-14")
    assert article.published_basis == "metadata"
    assert article.source.url == "https://www.brindle-courier.example/news/ferry-orvel"
    assert "rescue boats pulled 46 people" in article.text
    assert "\"The crew did everything right" in article.text
    for junk in ("cookies", "Most read", "Privacy policy", "tracking", "Council approves"):
        assert junk not in article.text
    removed = " ".join(r.text for r in article.removed)
    assert "Accept all cookies" in removed and "Council approves new bridge toll" in removed
    assert "tracking" not in removed  # scripts are not text


def test_rss_uses_full_content_and_flags_summary_only(store):
    ingest([str(FIXTURES / "feed.rss")], store)
    arts = _by_title(store)
    full = arts["Divers resume search after ferry accident"]
    assert full.outlet == "Kell Island Gazette"
    assert full.authors == ["Lorne Vasquez"]
    assert full.published.startswith("2024-05-14T09:00")
    assert "Maritime Safety Board arrived" in full.text  # inline link stays inline
    assert "\"We are waiting with the families,\" she said." in full.text
    assert not full.has_flag("feed_summary_only")
    assert arts["Ferry service suspended on Orvel crossing"].has_flag("feed_summary_only")


def test_atom_entry(store):
    ingest([str(FIXTURES / "feed.atom")], store)
    (article,) = store.articles()
    assert article.outlet == "Lakeside Wire"
    assert article.authors == ["Odile Markham"]
    assert article.published.startswith("2024-05-15T08:45")
    assert article.text.startswith("The Maritime Safety Board opened a formal inquiry")


def test_json_container_nested_outlet_and_html_body(store):
    report = ingest([str(FIXTURES / "dump.json")], store)
    assert report.count("added") == 2
    arts = _by_title(store)
    families = arts["Families gather at Dunmere quay"]
    assert families.outlet == "Orvel Times" and families.authors == ["Mina Curtis"]
    assert families.source.entry == 0 and families.source.format == "json"
    operator = arts["Operator defends ferry's safety record"]
    assert "<p>" not in operator.text and "last inspection in March." in operator.text
    assert operator.published == "2024-05-15"


def test_jsonl_bad_line_does_not_stop_the_file(store):
    report = ingest([str(FIXTURES / "dump.jsonl")], store)
    statuses = [(o.status, o.reason) for o in report.outcomes]
    assert report.count("added") == 1
    assert any(s == "failed" and "invalid JSON on line 2" in r for s, r in statuses)
    assert any(s == "failed" and "--map text=FIELD" in r for s, r in statuses)


def test_jsonl_field_map_reaches_nested_fields(store):
    report = ingest([str(FIXTURES / "dump.jsonl")], store, field_map={"text": "story.body"})
    # With the map, line 3 is readable; line 1 has no story.body (its 'content' is ignored by the map).
    assert "Vigil held on Kell quay" in _by_title(store)
    assert report.count("failed") == 2


def test_text_with_boilerplate_and_cp1252(store):
    ingest([str(FIXTURES / "boilerplate_cp1252.txt")], store)
    (a,) = store.articles()
    assert a.title == "Inquiry into ferry capsizing to examine weather warnings"
    assert a.published == "2024-05-15" and a.published_basis == "text"
    assert a.authors == ["Odile Markham"] and a.wire == "Lakeside Wire"
    assert any(f.kind == "encoding" and "1252" in f.detail for f in a.flags)
    assert "Ren\u00e9 Okafor" in a.text  # decoded, not mojibake
    assert a.text.startswith("DUNMERE, Orvel \u2014 Investigators will examine")
    assert "first report within three months" in a.text
    for junk in ("Advertisement", "Share", "LW Photo", "record summer bookings", "May 2, 2024",
                 "More From", "harbour pilot said the warning", "Ivo Brandt /"):
        assert junk not in a.text
    reasons = {r.reason for r in a.removed}
    assert {"ad_marker", "photo_caption", "related_teaser", "byline", "more_from_footer",
            "metadata_line", "title", "section_label"} <= reasons


def _warc_bytes(records):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for uri, ctype, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                      http_headers=headers))
    return buf.getvalue()


def test_warc_html_responses_and_skipped_records(store, tmp_path):
    page = (FIXTURES / "page.html").read_bytes()
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(_warc_bytes([("https://brindle-courier.example/a", "text/html; charset=utf-8", page),
                                  ("https://brindle-courier.example/robots.txt", "text/plain", b"User-agent: *")]))
    report = ingest([str(path)], store)
    assert report.count("added") == 1 and report.count("skipped") == 1
    (a,) = store.articles()
    assert a.source.format == "warc" and a.source.url.startswith("https://")
    assert a.has_flag("fetched")


def test_warc_without_html_fails_with_reason(store, tmp_path):
    path = tmp_path / "only.warc.gz"
    path.write_bytes(_warc_bytes([("https://x.example/robots.txt", "text/plain", b"User-agent: *")]))
    report = ingest([str(path)], store)
    (outcome,) = report.outcomes
    assert outcome.status == "failed" and "no HTML responses" in outcome.reason and "text/plain" in outcome.reason


def test_ingest_twice_adds_nothing(store):
    first = ingest([str(FIXTURES)], store)
    count = store.article_count()
    second = ingest([str(FIXTURES)], store)
    assert count == first.count("added") > 5
    assert store.article_count() == count
    assert second.count("added") == 0 and second.count("present") == count


def test_same_text_from_two_outlets_stays_two_articles():
    doc = lambda outlet: RawDoc("text", "Rescuers reached the island at dawn on Monday after the storm.", outlet=outlet)
    assert build_article("x", doc("A")).id != build_article("x", doc("B")).id
    assert build_article("x", doc("A")).id == build_article("y", doc("A")).id


def test_raw_bytes_are_kept(store):
    ingest([str(FIXTURES / "page.html")], store)
    (a,) = store.articles()
    assert store.get_raw(a.raw_sha256) == (FIXTURES / "page.html").read_bytes()


def test_non_english_is_stored_and_flagged(store, tmp_path):
    path = tmp_path / "fr.txt"
    path.write_text("Le traversier a chaviré sur le lac lundi matin et les secours ont sorti de l'eau "
                    "quarante-six personnes, selon les autorités du port. Deux passagers sont toujours "
                    "portés disparus et les plongeurs reprendront les recherches dans la matinée.", encoding="utf-8")
    ingest([str(path)], store)
    (a,) = store.articles()
    assert a.language == "fr" and a.has_flag("non_english")


def test_glob_and_stdin(store):
    report = ingest([str(FIXTURES / "*.atom"), "-"], store, stdin=io.BytesIO(b"A short note about the ferry inquiry on Wednesday."))
    assert report.count("added") == 2
    assert {a.source.format for a in store.articles()} == {"feed", "text"}


# -- bad input: each gets a named reason, the batch goes on ---------------

BAD_CASES = {
    "empty.txt": (b"", "empty"),
    "blank.txt": (b"   \n\n  ", "empty"),
    "image.txt": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG image"),
    "blob.bin": (bytes(range(256)) * 8, "binary"),
    "truncated.html": (b"<html><head><title>x</title></head><body><nav>Home</nav><div>", "not an article"),
    "bad.json": (b'{"title": "x", "text": ', "invalid JSON"),
    "empty.rss": (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>', "no entries"),
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_inputs_fail_with_reason_and_batch_goes_on(store, tmp_path, name):
    data, expected = BAD_CASES[name]
    bad = tmp_path / name
    bad.write_bytes(data)
    shutil.copy(FIXTURES / "feed.atom", tmp_path / "good.atom")
    report = ingest([str(bad), str(tmp_path / "good.atom")], store)
    failed = report.failed
    assert len(failed) == 1 and failed[0].path == str(bad)
    assert expected.lower() in failed[0].reason.lower()
    assert report.count("added") == 1


def test_missing_path(store):
    report = ingest(["/definitely/not/here.txt"], store)
    assert report.failed[0].reason.startswith("no such file")


def test_too_large_file(store, tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        line = b"The ferry inquiry continued on Wednesday with more witnesses heard by the board.\n"
        fh.write(line * (50_000_000 // len(line) + 1))
    report = ingest([str(big)], store)
    assert "over the 25 MB limit" in report.failed[0].reason


def test_invalid_utf8_is_kept_and_flagged(store, tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes("Ren\u00e9 Okafor said the inquiry would be thorough and would hear every witness who "
                     "was on the quay that morning.".encode() + b" \xff\xfe broken bytes at the end.")
    ingest([str(path)], store)
    (a,) = store.articles()
    assert a.has_flag("invalid_utf8") and "Ren\u00e9 Okafor" in a.text


def test_truncated_but_readable_html_is_flagged(store, tmp_path):
    html = (FIXTURES / "page.html").read_text()
    cut = html[: html.index("<aside>")]
    (tmp_path / "cut.html").write_text(cut)
    ingest([str(tmp_path / "cut.html")], store)
    (a,) = store.articles()
    assert a.has_flag("truncated_html") and "Silver Tern" in a.text


def test_gzip_that_is_not_warc(store, tmp_path):
    path = tmp_path / "x.warc.gz"
    path.write_bytes(gzip.compress(b"just some text, not a WARC archive at all"))
    report = ingest([str(path)], store)
    assert report.failed and "WARC" in report.failed[0].reason
