"""Ingest of the bundled sample corpus against its ground truth (examples/ground_truth.json)."""
from __future__ import annotations

import json

import pytest

from storydesk.ingest import ingest
from storydesk.text import normalise

from conftest import EXAMPLES

TRUTH = json.loads((EXAMPLES / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from storydesk.store import SQLiteStore

    store = SQLiteStore(str(tmp_path_factory.mktemp("ex") / "ex.db"))
    report = ingest([str(EXAMPLES / "corpus")], store)
    yield report, {a.title: a for a in store.articles()}
    store.close()


def test_every_article_is_ingested_once(corpus):
    report, articles = corpus
    assert report.count("failed") == 0
    assert report.count("added") == len(TRUTH["articles"])
    assert set(articles) == {a["key"] for a in TRUTH["articles"]}


@pytest.mark.parametrize("truth", TRUTH["articles"], ids=lambda t: t["key"][:40])
def test_metadata_matches_ground_truth(corpus, truth):
    article = corpus[1][truth["key"]]
    assert article.outlet == truth["outlet"]
    assert (article.published or "")[:10] == truth["published"]
    assert article.language == truth["language"]
    assert article.has_flag("non_english") == (truth["language"] != "en")
    if truth["encoding"] != "utf-8":
        assert any(f.kind == "encoding" and truth["encoding"] in f.detail for f in article.flags)
    if truth.get("wire") and truth["file"].endswith(".txt"):
        assert article.wire == truth["wire"]


def test_formats_cover_every_reader(corpus):
    assert {a.source.format for a in corpus[1].values()} == {"text", "html", "json", "jsonl", "feed", "warc"}


def test_warc_non_html_records_are_counted(corpus):
    skipped = [o for o in corpus[0].outcomes if o.status == "skipped"]
    assert skipped and "text/plain" in skipped[0].reason


@pytest.mark.parametrize("case", TRUTH["boilerplate"], ids=lambda c: c["article"][:40])
def test_boilerplate_removed_body_kept(corpus, case):
    article = corpus[1][case["article"]]
    paragraphs = {normalise(p) for p in article.text.split("\n\n")}
    text = normalise(article.text)
    for line in case["must_keep"]:
        assert normalise(line) in text, line
    removed = "\n".join(normalise(r.text) for r in article.removed)
    for line in case["must_remove"]:
        assert normalise(line) not in paragraphs, line
        assert normalise(line) in removed, line  # kept in `removed`, with its reason
