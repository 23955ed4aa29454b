"""Behaviour of figure claims (storydesk/analysis/claims.py): extraction, grouping, support, conflicts.

Every text here is invented for these tests (fictional places, outlets and people).
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storydesk.analysis import claims as C, figures as F
from storydesk.pipeline import Analysis
from storydesk.records import Article, Claim, Source, SourceGroup, Story


def art(text: str, outlet: str, published: str | None = "2031-05-14", language: str = "en") -> Article:
    return Article(id=Article.make_id(text, outlet), source=Source("txt"), text=text, outlet=outlet,
                   published=published, published_basis="metadata" if published else "unknown", language=language)


def run(articles: list[Article], groups: list[list[Article]] | None = None,
        stories: list[list[Article]] | None = None) -> tuple[list[Claim], Analysis]:
    analysis = Analysis(store=None, articles=articles)
    story_list = [Story(id=f"s{i}", label=f"s{i}", article_ids=[a.id for a in members])
                  for i, members in enumerate(stories or [articles])]
    sid = {a.id: s.id for s in story_list for a in articles if a.id in s.article_ids}
    group_list = [SourceGroup(story_id=sid[g[0].id], origin_id=g[0].id, article_ids=[a.id for a in g])
                  for g in (groups or [])]
    analysis.results.update({"stories": story_list, "source_groups": group_list, "date_checks": []})
    return C.claims_stage(analysis)["claims"], analysis


def figures(sentence: str, dct=None):
    import datetime as dt
    return F.sentence_figures(sentence, dt.date.fromisoformat(dct) if dct else None)


def conflicting(claims: list[Claim]) -> list[Claim]:
    return [c for c in claims if c.conflicts]


# --------------------------------------------------------------------------- figures
@pytest.mark.parametrize("sentence, value, hedge, family", [
    ("Officials said 17 people had died in Ostvale District.", 17, "exact", "deaths"),
    ("At least 23 people have been killed in Ostvale District.", 23, "min", "deaths"),
    ("The storm killed more than 40 villagers.", 40, "min_excl", "deaths"),
    ("About 9,000 residents remained in shelters.", 9000, "approx", "displaced"),
    ("Some 14,000 people had been evacuated from the valley.", 14000, "approx", "displaced"),
    ("Up to 300 people are still missing.", 300, "max", "missing"),
    ("Nearly two dozen people were wounded.", 24, "near_below", "injured"),
    ("Twenty-three people died in the collapse.", 23, "exact", "deaths"),
    ("The provincial death toll climbed to 38.", 38, "exact", "deaths"),
    ("Rescuers plucked 212 people from rooftops.", 212, "exact", "rescued"),
    ("Brennmoor has 1,500 soldiers stationed in Ostvale.", 1500, "exact", "troops"),
    ("The ministry released a fund of 40 million crowns for the valley.", 40_000_000, "exact", "money"),
    ("Police said 12 protesters were arrested.", 12, "exact", "arrested"),
    ("The flood destroyed 1,150 homes in the district.", 1150, "exact", "buildings"),
])
def test_figure_value_hedge_and_family(sentence, value, hedge, family):
    figs = figures(sentence)
    assert len(figs) == 1, figs
    f = figs[0]
    assert (f.value, f.hedge, f.family) == (value, hedge, family)
    assert sentence[f.span[0]:f.span[1]].lower().endswith(f.text.lower().split()[-1])


@pytest.mark.parametrize("sentence", [
    "The bridge opened in 2021 and was repaired in 1998.",
    "Call the hotline on 555-0134 or +44 20 7946 0958 for news of relatives.",
    "Mara Tellin, 52, stood outside her shop.",
    "A 67-year-old man was found alive.",
    "The meeting began at 10:30 and lasted three hours.",
    "Turnout reached 61% in the district.",
    "One of the rescuers said the water was cold.",
    "Two days after the flood, the road reopened.",
    "The ministry said the water could kill up to 500 people if the wall fails.",
    "The stadium holds 30,000 fans.",
    "Route 66 was closed.",
])
def test_garbage_numbers_are_not_figures(sentence):
    assert figures(sentence) == []


def test_no_numbers_no_claims():
    a = art("Rain fell all night over Ostvale. Residents waited for news.", "Harbour Times")
    b = art("The river rose quickly. Officials urged calm.", "Ostvale Post")
    claims, _ = run([a, b])
    assert claims == []


def test_scope_district_and_province_differ():
    figs = figures("Officials said 17 people had died in Ostvale District and 31 across Harlow Province as a whole.")
    assert [(f.value, f.scope.name, f.scope.level) for f in figs] == [
        (17, "ostvale", "district"), (31, "harlow", "province")]


def test_date_written_in_the_sentence_is_used():
    (f,) = figures("By Tuesday evening, rescuers had confirmed nine deaths.", "2031-05-14")  # a Wednesday
    assert f.when.explicit and f.when.ref.isoformat() == "2031-05-13"
    (g,) = figures("Rescuers had confirmed nine deaths.", "2031-05-14")
    assert not g.when.explicit and g.when.ref.isoformat() == "2031-05-14"


def test_soldiers_killed_are_deaths_not_troops():
    (f, g) = figures("At least 17 soldiers were killed and nearly two dozen wounded in an ambush.")
    assert (f.family, f.unit) == ("deaths", "soldiers")
    assert (g.family, g.unit) == ("injured", "soldiers")


# --------------------------------------------------------------------------- conflicts
def test_two_outlets_disagree_on_a_district_toll():
    a = art("Provincial officials said 17 people had died in Ostvale District.", "Harbour Times")
    b = art("Aid groups said at least 23 people have been killed in Ostvale District.", "Ostvale Post")
    claims, _ = run([a, b])
    assert len(claims) == 2
    first, second = claims
    assert first.conflicts == [second.id] and second.conflicts == [first.id]
    details = [f.detail for c in claims for f in c.flags if f.kind == "conflict"]
    assert any("17" in d and "23" in d and "Ostvale District" in d and "2031-05-14" in d for d in details), details


def test_district_and_province_tolls_do_not_conflict():
    a = art("Officials said 17 people had died in Ostvale District.", "Harbour Times")
    b = art("Officials said 31 people had died across Harlow Province.", "Ostvale Post")
    claims, _ = run([a, b])
    assert len(claims) == 2 and not conflicting(claims)


def test_rising_toll_over_two_days_is_no_conflict():
    a = art("At least nine people have died, the emergency service said.", "Harbour Times", "2031-05-12")
    b = art("The death toll climbed to 31 on Thursday.", "Ostvale Post", "2031-05-15")
    c = art("Officials said 38 people have died.", "Valley Ledger", "2031-05-16")
    claims, _ = run([a, b, c])
    assert len(claims) == 3 and not conflicting(claims)


def test_shelter_count_falling_over_days_is_no_conflict():
    a = art("She said 14,000 people had been moved into schools across the province.", "Harbour Times", "2031-05-12")
    b = art("About 9,000 people remained in shelters.", "Ostvale Post", "2031-05-16")
    claims, _ = run([a, b])
    assert not conflicting(claims)


def test_hedged_compatible_values_do_not_conflict():
    a = art("At least 17 people died in Ostvale District.", "Harbour Times")
    b = art("Officials said 20 people died in Ostvale District.", "Ostvale Post")
    claims, _ = run([a, b])
    assert len(claims) == 2 and not conflicting(claims)


def test_different_stories_never_conflict_or_merge():
    a = art("Officials said 6 people had died in Kestrel Town.", "Harbour Times")
    b = art("Officials said 7 people had died in Kestrel Town.", "Ostvale Post")
    c = art("Officials said 6 people had died in Kestrel Town after the fire.", "Valley Ledger")
    claims, _ = run([a, b, c], stories=[[a], [b], [c]])
    assert len(claims) == 3 and not conflicting(claims)
    assert all(cl.independent_support == 1 for cl in claims)


# --------------------------------------------------------------------------- grouping and support
def test_wire_copies_count_once_and_independent_outlets_add_support():
    wire = "Floodwater forced 2,300 residents of Ostvale to be evacuated to schools on higher ground."
    copies = [art(wire, outlet) for outlet in ("Wire Service", "Harbour Times", "Valley Ledger")]
    other = art("Officials said 2,300 residents had been evacuated in Ostvale.", "Ostvale Post")
    claims, _ = run(copies + [other], groups=[copies, [other]])
    (claim,) = claims
    assert claim.independent_support == 2
    assert {c.article_id for c in claim.citations} == {a.id for a in copies + [other]}
    assert not any(f.kind == "single_source" for f in claim.flags)


def test_single_source_claim_is_flagged():
    a = art("Officials said 2,300 residents had been evacuated.", "Harbour Times")
    claims, _ = run([a])
    (claim,) = claims
    assert claim.independent_support == 1
    assert any(f.kind == "single_source" for f in claim.flags)


def test_without_source_groups_identical_sentences_still_count_once():
    text = "Floodwater forced 2,300 residents of Ostvale to be evacuated to schools on higher ground."
    copies = [art(text, outlet) for outlet in ("Wire Service", "Harbour Times")]
    claims, _ = run(copies)  # no provenance: each article is its own group
    assert claims[0].independent_support == 1


def test_claim_text_is_an_exact_cited_sentence():
    a = art("Rain fell for days. Officials said 17 people had died in Ostvale District. Roads closed.", "Harbour Times")
    b = art("Aid groups said at least 23 people have been killed in Ostvale District.", "Ostvale Post")
    claims, _ = run([a, b])
    by_id = {x.id: x for x in (a, b)}
    for claim in claims:
        first = claim.citations[0]
        assert by_id[first.article_id].text[first.span[0]:first.span[1]] == claim.text
        assert Claim.from_dict(claim.to_dict()) == claim


def test_non_english_articles_are_skipped():
    a = art("Au moins 17 personnes sont mortes dans le district.", "Journal", language="fr")
    claims, _ = run([a])
    assert claims == []


def test_a_bad_article_does_not_stop_the_batch(monkeypatch):
    good = art("Officials said 2,300 residents had been evacuated.", "Harbour Times")
    bad = art("Officials said 17 people had died.", "Ostvale Post")
    real = C.article_figures

    def flaky(article, *args, **kwargs):
        if article.id == bad.id:
            raise ValueError("boom")
        return real(article, *args, **kwargs)

    monkeypatch.setattr(C, "article_figures", flaky)
    claims, analysis = run([good, bad])
    assert len(claims) == 1
    assert [(e.article_id, e.error) for e in analysis.errors] == [(bad.id, "ValueError")]


def test_stage_runs_through_the_pipeline(store):
    from storydesk import pipeline

    for module in ("storydesk.analysis.stories", "storydesk.analysis.provenance"):  # they register the kinds claims needs
        pytest.importorskip(module, reason=f"{module} is not importable yet")

    a = art("Officials said 17 people had died in Ostvale District.", "Harbour Times")
    b = art("Aid groups said at least 23 people have been killed in Ostvale District.", "Ostvale Post")
    store.add_article(a)
    store.add_article(b)
    analysis = pipeline.run(store, ["claims"])
    stored = store.get_records("claims", Claim)
    assert len(stored) == 2 and all(c.conflicts for c in stored)
    assert stored == analysis.results["claims"]
    summaries = C.figure_summaries(store)  # what each claim counts, kept beside the records
    assert sorted(s["label"] for s in summaries.values()) == [
        "17 deaths in Ostvale District, 2031-05-14", "at least 23 deaths in Ostvale District, 2031-05-14"]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 ,.-abcdefkilmnoprstuvwy ATDS")), max_size=120))
def test_any_text_gives_valid_spans(text):
    for f in F.sentence_figures(text):
        assert 0 <= f.span[0] < f.span[1] <= len(text)
        assert f.lo <= f.value <= f.hi or f.hedge in ("max", "max_excl", "min", "min_excl", "vague")


# --------------------------------------------------------------------------- statements without figures
def test_near_identical_sentences_from_independent_sources_make_a_claim():
    a = art("The governor ordered an inquiry into the collapse of the Brask Dam on Monday evening.", "Harbour Times")
    b = art("The governor ordered an inquiry into the collapse of the Brask Dam late on Monday.", "Ostvale Post")
    claims, _ = run([a, b])
    (claim,) = claims
    assert claim.independent_support == 2 and len(claim.citations) == 2
    assert claim.text == a.text


def test_same_words_with_another_name_are_not_support():
    a = art("The inquiry into the Brask Dam collapse will be led by Judge Ilsa Varno.", "Harbour Times")
    b = art("The inquiry into the Brask Dam collapse will be led by Judge Oren Tamsk.", "Ostvale Post")
    claims, _ = run([a, b])
    assert claims == []


def test_copies_of_one_origin_do_not_make_a_statement_claim():
    text = "The governor ordered an inquiry into the collapse of the Brask Dam on Monday evening."
    a, b = art(text, "Wire Service"), art(text, "Harbour Times")
    claims, _ = run([a, b], groups=[[a, b]])
    assert claims == []


def test_a_shared_topic_is_not_support():
    a = art("Engineers warned for years that the Brask Dam spillway could fail in heavy rain.", "Harbour Times")
    b = art("Residents below the Brask Dam said nobody told them the spillway was weak.", "Ostvale Post")
    claims, _ = run([a, b])
    assert claims == []
