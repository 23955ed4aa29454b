"""Hybrid search: incremental, idempotent index; safe queries; filters; fusion."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import briefing_sample as sample  # noqa: E402
import web_store  # noqa: E402
from storydesk import briefing, search  # noqa: E402
from storydesk.errors import BadQuery  # noqa: E402
from storydesk.records import Article, Source  # noqa: E402
from storydesk.search import Filters, update_index  # noqa: E402
from storydesk.store import SQLiteStore, open_store  # noqa: E402


class CountingEncoder:
    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts += list(texts)
        return web_store.fake_encoder(texts)


@pytest.fixture
def built(tmp_path, store_factory):
    """The web test store, on SQLite and (when STORYDESK_TEST_PG names a server) on PostgreSQL."""
    db = store_factory()
    ids = web_store.build(db, tmp_path)
    with open_store(db) as store:
        yield store, ids


def _count(store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_update_index_is_idempotent(built):
    store, _ = built
    before = {t: _count(store, t) for t in ("search_sentences", "search_vectors", "search_story", "search_entity")}
    enc = CountingEncoder()
    report = update_index(store, encoder=enc)
    assert (report.articles, report.sentences, report.vectors, report.filters_rebuilt) == (0, 0, 0, False)
    assert enc.texts == []
    assert before == {t: _count(store, t) for t in before}
    if search.is_sqlite(store):
        assert _count(store, "search_fts") == before["search_sentences"]


def test_update_index_is_incremental_and_shares_vectors_of_copies(built):
    store, _ = built
    text = ("Brellin reopened its old market on Monday, a week after the flood. "
            "At least four people were killed, according to the fire service.")
    art = Article(id=Article.make_id(text, "Quay Times"), source=Source("text"), text=text, outlet="Quay Times",
                  title="Market reopens", published="2031-03-21")
    store.add_article(art)
    enc = CountingEncoder()
    report = update_index(store, encoder=enc)
    assert report.articles == 1 and report.sentences == 3  # two sentences and the headline
    # "At least four people were killed..." is already in the wire story: embedded once, not again.
    assert "At least four people were killed, according to the fire service." not in enc.texts
    assert len(enc.texts) == 2


def test_every_sentence_gets_a_vector_across_many_small_batches(built):
    store, _ = built
    store.db.execute("UPDATE search_sentences SET vector_id = NULL")  # as after an index made without vectors
    rows = _count(store, "search_sentences")
    enc = CountingEncoder()
    assert search._embed_missing(store, enc, batch=3) == 0  # every text has its vector already: none encoded
    assert enc.texts == []
    missing = store.db.execute("SELECT count(*) FROM search_sentences WHERE vector_id IS NULL").fetchone()[0]
    assert rows > 3 * 4 and missing == 0


def test_filters_rebuild_when_stories_change(built):
    store, ids = built
    from storydesk.records import Story
    stories = store.get_records("stories", Story)
    stories[0].article_ids = stories[0].article_ids[:2]
    store.replace_records("stories", stories)
    assert update_index(store, encoder=web_store.fake_encoder).filters_rebuilt
    hits = search.search(store, "flood", filters=Filters(story="s-brellin"), mode="fts", limit=50)
    assert {h.article_id for h in hits} <= {ids["wire"], ids["copy"]}


@pytest.mark.parametrize("query", ['"dam', "dam*", "NEAR(dam cracks, 2)", "-dam", "dam -cracks", 'a"b', "dam AND",
                                   "dam OR", "NOT dam", "^dam", "dam:cracks", "{dam}", "dam\u0000cracks"])
def test_fts_syntax_is_never_an_operator(built, query):
    store, _ = built
    hits = search.search(store, query, encoder=web_store.fake_encoder)
    assert any("dam" in h.text.casefold() for h in hits)


@pytest.mark.parametrize("query, code", [("", "empty_query"), ('" * - ()', "empty_query"),
                                         ("x" * 10_000, "query_too_long")])
def test_unsearchable_queries_raise_bad_query(built, query, code):
    store, _ = built
    with pytest.raises(BadQuery) as err:
        search.search(store, query, encoder=web_store.fake_encoder)
    assert err.value.code == code


def test_fts_finds_words_with_snippet_marks(built):
    store, ids = built
    hits = search.search(store, "cracks western wall", mode="fts")
    assert hits and hits[0].fts_rank == 1 and hits[0].vector_rank is None
    top = hits[0]
    assert {top.snippet[a:b].casefold() for a, b in top.marks} >= {"cracks", "western", "wall"}
    art = store.get_article(top.article_id)
    assert art.text[top.span[0]:top.span[1]] == top.text


def test_marks_are_the_words_fts5_matched(built):
    store, _ = built
    if not search.is_sqlite(store):
        pytest.skip("PostgreSQL marks the query words as written")
    hit = next(h for h in search.search(store, "flood", mode="fts", limit=50) if "flooding" in h.text)
    assert "flooding" in {hit.snippet[a:b].casefold() for a, b in hit.marks}  # porter: flooding -> flood


def test_filters_restrict_results(built):
    store, ids = built
    enc = web_store.fake_encoder
    by_outlet = search.search(store, "flood dam", filters=Filters(outlet="Harbor Wire"), encoder=enc, limit=50)
    assert by_outlet and {h.article_id for h in by_outlet} == {ids["wire"]}
    by_story = search.search(store, "notice board", filters=Filters(story="s-osk"), encoder=enc, limit=50)
    assert by_story and {h.article_id for h in by_story} <= set(ids["payloads"])
    by_entity = search.search(store, "flood", filters=Filters(entity="Tomas Renk"), encoder=enc, limit=50)
    assert {h.article_id for h in by_entity} == {ids["update"]}
    by_date = search.search(store, "flood", filters=Filters(date_from="2031-03-16", date_to="2031-03-31"),
                            encoder=enc, limit=50)
    assert by_date and all("2031-03-16" <= h.published[:10] <= "2031-03-31" for h in by_date)
    with pytest.raises(BadQuery):
        search.search(store, "flood", filters=Filters(date_from="last week"), encoder=enc)


def test_vector_mode_and_fusion(built):
    store, _ = built
    enc = web_store.fake_encoder
    vec = search.search(store, "western wall cracks engineers", mode="vector", encoder=enc)
    assert vec and vec[0].vector_rank == 1 and vec[0].fts_rank is None
    hybrid = search.search(store, "western wall cracks engineers", mode="hybrid", encoder=enc)
    assert hybrid[0].fts_rank and hybrid[0].vector_rank  # found by both lists, so fused first


def _toy_vectors() -> search._Vectors:
    """Articles a (sentences 1, 2), b (3) and c (4) in two dimensions."""
    matrix = np.array([[0.6, 0.8], [0.9, 0.44], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    return search._Vectors(("toy",), matrix, np.array([1, 2, 3, 4]), np.arange(4), np.array([0, 2, 3]),
                           np.array([-1, 0, 1, 2, 3]))


def test_fusion_scores_each_article_by_its_best_sentence():
    vec = _toy_vectors()
    cos = search._cosines(vec, lambda texts: np.array([[1.0, 0.0]]), "query")
    fts = [(2, 10.0), (4, 5.0)]  # (rowid, bm25): sentence 2 matches best
    ranked = search._combined(vec, fts, cos, 0.5, None, 10)
    # a: 0.5 * 0.9 + 0.5 * 10/10 from sentence 2; b: 0.5 * 1.0 (vector only); c: 0.5 * 5/10 (keywords only)
    assert [r for r, _ in ranked] == [2, 3, 4]
    assert [s for _, s in ranked] == pytest.approx([0.95, 0.5, 0.25])
    vector_only = search._combined(vec, fts, cos, 0.0, None, 10)
    assert [r for r, _ in vector_only] == [3, 2, 4]
    kept = search._combined(vec, fts, cos, 0.5, np.array([False, False, True, True]), 10)
    assert [r for r, _ in kept] == [3, 4]  # a filtered out
    keywords_only = search._combined(vec, fts, cos, 1.0, np.array([True, True, True, False]), 10)
    assert [r for r, _ in keywords_only][0] == 2 and all(np.isfinite(s) for _, s in keywords_only)


@pytest.mark.parametrize("query", ["cracks western wall", "flood dam wall", "Brellin governor divers",
                                   "notice board", "engineers warned", "zzz unknownword"])
def test_keyword_arrays_score_as_fts5_bm25(built, query):
    store, _ = built
    if not search.is_sqlite(store):
        pytest.skip("the arrays stand in for FTS5, which only the SQLite store has")
    vec = search._vectors(store)
    terms = search.query_terms(query)
    arrays = search._keyword_scores(store, vec, terms)
    sql = search._fts_ranked(store.db, terms, Filters(), 10_000)
    assert len(sql) == int((arrays > 0).sum())
    for rowid, score in sql:
        assert arrays[vec.position[rowid]] == pytest.approx(score, rel=1e-4)


def test_hybrid_results_are_one_per_article(built):
    store, _ = built
    hits = search.search(store, "flood dam wall", encoder=web_store.fake_encoder, limit=50)
    assert hits and len({h.article_id for h in hits}) == len(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_analyse_updates_the_index(tmp_path, monkeypatch):
    calls = []
    from storydesk import engine
    monkeypatch.setattr(engine, "run", lambda store, **kw: engine.RunReport(worked=1))
    monkeypatch.setattr(briefing, "update_index", lambda store: calls.append(store.path))
    with SQLiteStore(str(tmp_path / "a.db")) as store:
        store.add_article(sample.articles()[0])
        assert briefing.analyse(store)
        assert calls == [store.path]


def test_search_cli_prints_hits(built, tmp_path):
    from click.testing import CliRunner
    from storydesk.cli import cli
    store, ids = built
    result = CliRunner().invoke(cli, ["search", "cracks western wall", "--db", store.path, "--mode", "fts", "--json"])
    assert result.exit_code == 0, result.output
    assert '"article_id"' in result.output
    bad = CliRunner().invoke(cli, ["search", "x" * 10_000, "--db", store.path, "--mode", "fts"])
    assert bad.exit_code == 2 and "shorten" in bad.output


@pytest.mark.slow
def test_real_embeddings_find_a_paraphrase_without_shared_words(built):
    store, ids = built
    pytest.importorskip("sentence_transformers")
    from storydesk.models.embeddings import embed
    with store.transaction():
        store.db.execute("UPDATE search_sentences SET vector_id=NULL")
        store.db.execute("DELETE FROM search_vectors")
    update_index(store, encoder=embed)
    query = "specialists cautioned months ago that fissures were spreading through the barrier"
    fts = search.search(store, query, mode="fts", limit=3)
    assert not any("cracks in the dam's western wall" in h.text for h in fts)  # no shared content word
    hits = search.search(store, query, mode="vector", encoder=embed, limit=3)
    assert any("cracks in the dam's western wall" in h.text for h in hits)


def test_vectors_of_another_model_are_a_named_error(built):
    """An index built with another embedding model (other dimensions) is refused by name, never a 500;
    keyword search still works."""
    store, _ = built
    other = lambda texts: np.ones((len(texts), 7), dtype=np.float32) / np.sqrt(7)  # noqa: E731
    with pytest.raises(BadQuery) as caught:
        search.search(store, "flood dam", encoder=other)
    assert caught.value.code == "index_mismatch" and "another model" in str(caught.value)
    assert search.search(store, "flood dam", mode="fts", encoder=other)
