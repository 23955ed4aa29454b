"""Entities: name matching rules (fast) and the stage on short invented articles (slow, loads spaCy)."""
from __future__ import annotations

import json

import pytest

from storydesk.analysis import entities
from storydesk.analysis.entities import acronym_of, name_key, same_person_name, similar_name_word
from storydesk import pipeline
from storydesk.pipeline import Analysis
from storydesk.records import Article, Entity, Source
from storydesk.store import SQLiteStore


def make_article(text: str, outlet: str) -> Article:
    return Article(id=Article.make_id(text, outlet), source=Source(format="text", path=f"{outlet}.txt"),
                   text=text, outlet=outlet)


def run_entities(*texts: str) -> tuple[list[Article], list[Entity]]:
    articles = [make_article(t, f"outlet{i}") for i, t in enumerate(texts)]
    analysis = Analysis(store=SQLiteStore(":memory:"), articles=articles)
    return articles, entities.extract(analysis)


def entity_with(ents: list[Entity], form: str) -> Entity | None:
    hits = [e for e in ents if form == e.name or form in e.variants]
    return hits[0] if hits else None


# -- name rules (no model) --------------------------------------------------------
@pytest.mark.parametrize("a,b", [("abdourahamane", "abdourahmane"), ("kassemi", "qassemi"),
                                 ("mohamed", "mohammed"), ("tchiani", "tchianni")])
def test_transliteration_variants_match(a, b):
    assert similar_name_word(a, b)


@pytest.mark.parametrize("a,b", [("niger", "nigeria"), ("michael", "michelle"), ("nasr", "nasra"),
                                 ("bill", "hillary"), ("jon", "joan")])
def test_different_names_do_not_match(a, b):
    assert not similar_name_word(a, b)


def test_full_names_need_compatible_first_names():
    assert same_person_name("ilse marten", "ilse martin")
    assert same_person_name("k varga", "kalman varga")
    assert not same_person_name("anna berg", "piet berg")
    assert not same_person_name("anna berg", "anna borg-lind")


def test_acronym_candidates_include_function_word_initials():
    assert "cfms" in acronym_of("Coastal Federation of Maritime States")
    assert "ecowas" in acronym_of("Economic Community of West African States")


def test_name_key_folds_case_periods_articles_and_possessives():
    assert name_key("The U.N.'s") == "un"
    assert name_key("Ren\u00e9e TALMONT") == name_key("Renee Talmont")


# -- stage (loads spaCy) ------------------------------------------------------------
ARTICLE_A = (
    "The Coastal Federation of Maritime States (CFMS) said on Monday that it would send observers to Niger.\n"
    "General Oskar Tremblay, the head of the army, spoke to reporters in Niamey. Tremblay said the border was calm.\n"
    "The Council for National Renewal, the junta's formal name, rejected the plan on Tuesday.\n"
    "Anna Berg, a senior analyst at the Harbour Institute, said the talks would fail."
)
ARTICLE_B = (
    "CFMS leaders met in Lagos, the largest city of Nigeria, on Wednesday.\n"
    "Oskar Tremblai, the army chief, declined to comment. The junta ordered a curfew in Niamey.\n"
    "Piet Berg, a fisherman from the coast, said he had not seen any soldiers."
)


@pytest.fixture(scope="module")
def pair():
    return run_entities(ARTICLE_A, ARTICLE_B)


@pytest.mark.slow
def test_spelling_variants_merge_across_articles(pair):
    _, ents = pair
    oskar = entity_with(ents, "Oskar Tremblay") or entity_with(ents, "Oskar Tremblai")
    assert oskar is not None and oskar.type == "PERSON"
    forms = {oskar.name, *oskar.variants}
    assert {"Oskar Tremblay", "Oskar Tremblai", "Tremblay"} <= forms
    assert len({m.article_id for m in oskar.mentions}) == 2


@pytest.mark.slow
def test_roles_come_from_titles_and_appositions(pair):
    _, ents = pair
    oskar = entity_with(ents, "Oskar Tremblay") or entity_with(ents, "Oskar Tremblai")
    roles = " | ".join(oskar.roles).lower()
    assert "general" in roles and "head of the army" in roles
    anna = entity_with(ents, "Anna Berg")
    assert any("analyst at the Harbour Institute" in r for r in anna.roles)


@pytest.mark.slow
def test_acronym_joins_its_expansion_in_another_article(pair):
    articles, ents = pair
    fed = entity_with(ents, "Coastal Federation of Maritime States")
    assert fed is not None and "CFMS" in fed.variants
    assert {m.article_id for m in fed.mentions} == {a.id for a in articles}


@pytest.mark.slow
def test_descriptor_joins_the_formal_name_the_text_gives(pair):
    _, ents = pair
    council = entity_with(ents, "Council for National Renewal")
    assert council is not None
    assert any(v.lower().endswith("junta") for v in council.variants)


@pytest.mark.slow
def test_never_merge_neighbours_or_people_sharing_a_surname(pair):
    _, ents = pair
    niger, nigeria = entity_with(ents, "Niger"), entity_with(ents, "Nigeria")
    assert niger is not None and nigeria is not None and niger.id != nigeria.id
    anna, piet = entity_with(ents, "Anna Berg"), entity_with(ents, "Piet Berg")
    assert anna is not None and piet is not None and anna.id != piet.id


@pytest.mark.slow
def test_mention_spans_point_into_the_article_text(pair):
    articles, ents = pair
    texts = {a.id: a.text for a in articles}
    for e in ents:
        for m in e.mentions:
            assert texts[m.article_id][m.span[0]:m.span[1]] == m.text
    ids = [e.id for e in ents]
    assert len(ids) == len(set(ids))


@pytest.mark.slow
def test_entity_ids_derive_from_content(pair):
    _, again = run_entities(ARTICLE_A, ARTICLE_B)
    assert sorted(e.id for e in pair[1]) == sorted(e.id for e in again)


@pytest.mark.slow
def test_text_without_names_or_with_junk_does_not_crash():
    _, ents = run_entities("it rained all day and nobody came.", "", "\u201c\u201c\" ' \n\n ... ???",
                           "ADVERTISEMENT\nShare\n" + "word " * 50)
    assert isinstance(ents, list)


@pytest.mark.slow
def test_entities_command_lists_stored_entities(tmp_path):
    from click.testing import CliRunner

    from storydesk.cli.people import entities_cmd

    db = str(tmp_path / "t.db")
    with SQLiteStore(db) as store:
        store.add_article(make_article(ARTICLE_A, "a"))
    before = CliRunner().invoke(entities_cmd, ["--db", db, "--json"])
    assert before.exit_code == 0 and json.loads(before.output) == []  # read commands never compute
    with SQLiteStore(db) as store:
        pipeline.run(store)
    out = CliRunner().invoke(entities_cmd, ["--db", db, "--json"])
    assert out.exit_code == 0, out.output
    names = {e["name"] for e in json.loads(out.output)}
    assert "Anna Berg" in names


@pytest.mark.slow
def test_descriptor_does_not_reach_an_article_about_another_place():
    other = "In Rangoon, the junta extended the curfew. Mya Thein said the streets of Yangon were empty."
    articles, ents = run_entities(ARTICLE_A, ARTICLE_B, other)
    council = entity_with(ents, "Council for National Renewal")
    assert council is not None
    assert articles[2].id not in {m.article_id for m in council.mentions}


# -- types from context, roles that parse, languages --------------------------------
def test_invented_towns_are_typed_as_places_from_context():
    _, ents = run_entities(
        "BRELLIN, Vastoria \u2014 Floodwater reached Brellin on Monday. Mayor Ada Corvel of Brellin said "
        "crews had reached Ostmark and two neighbouring hamlets. \"We are still counting,\" said Tobi Lenz, "
        "a fisherman from the village of Drava, who lives on Miller's Lane.\n\n"
        "Officials met in the capital, Sorvina, on Tuesday.")
    for name in ("Brellin", "Drava", "Ostmark", "Sorvina"):
        e = entity_with(ents, name)
        assert e is not None and e.type == "GPE", (name, e)
    assert entity_with(ents, "Tobi Lenz").type == "PERSON"


def test_roles_never_name_the_agency_and_fragments_are_dropped():
    art = make_article("HESKIN (NPA) \u2014 Dara Voss, a retired nurse, said the water rose in Heskin, "
                       "a town of 4,000 people, at night.", "Northern Press Agency")
    art.wire = "Northern Press Agency"
    ents = entities.extract(Analysis(store=SQLiteStore(":memory:"), articles=[art]))
    assert all("NPA" not in r for e in ents for r in e.roles)
    assert entities._clean_roles(["higher figure than the one", "hall\u2019s", "chief engineer of the LVBA (",
                                  "stretch of valley, at 17"], set()) == ["chief engineer of the LVBA",
                                                                           "stretch of valley"]


def test_non_english_articles_only_carry_names_the_english_ones_found():
    en = make_article("Governor Anselm Brody visited Lorrin on Friday. Brody said rescue teams were working.", "en1")
    fr = make_article("Le gouverneur Anselm Brody a visit\u00e9 Lorrin. \u00ab Personne n\u2019aura pas de "
                      "r\u00e9ponse \u00bb, a dit Brody devant la Mairie.", "fr1")
    fr.language = "fr"
    ents = entities.extract(Analysis(store=SQLiteStore(":memory:"), articles=[en, fr]))
    brody = entity_with(ents, "Anselm Brody")
    assert brody is not None and {m.article_id for m in brody.mentions} == {en.id, fr.id}
    in_french = {m.text for e in ents for m in e.mentions if m.article_id == fr.id}
    assert in_french <= {"Anselm Brody", "Lorrin", "Brody"}


def test_known_names_in_a_non_english_article_match_across_any_whitespace():
    fr = make_article("Le gouverneur Anselm\nBrody a visit\u00e9 Lorrin avec Anselm Brodyx.", "fr1")
    found = entities.known_name_mentions(fr, ["Anselm Brody", "Anselm", "Lorrin"])
    assert [m.text for m in found] == ["Anselm\nBrody", "Lorrin", "Anselm"]  # longest first; whole words only
