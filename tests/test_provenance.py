"""Provenance: duplicates, copies, rewrites, direction, independent source groups, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from storydesk.records import Article, Source, Story
from storydesk.analysis.provenance import (NearDupIndex, ProvenanceConfig, ProvenanceState, align_pair, direction,
                                  find_provenance, update_provenance, wire_credit)

LEXICAL = ProvenanceConfig(paraphrase=False)  # copies only: no sentence model needed

WIRE = (
    "HARVELD, Ostmark (NPA) \u2014 Firefighters battled a blaze at the Kesper textile mill in Harveld for nine hours "
    "on Monday before bringing it under control. "
    "The fire broke out in a storage hall shortly after dawn and spread to the roof of the main weaving floor. "
    "Fire chief Amos Tielman said 62 workers were evacuated and four were treated for smoke inhalation. "
    "Police have closed the road between Harveld and the river port of Lessin while engineers inspect the walls. "
    "The mill, which opened in 1911, employs about 400 people and is the largest employer in the valley. "
    "Owners of the mill said production would move to a sister plant in Dorrow until repairs are finished."
)
INDEPENDENT = (
    "Smoke could still be seen above Harveld on Monday evening as residents gathered near the ruined mill. "
    "Greta Vos, who has sewn uniforms at Kesper for twenty years, watched from across the canal with her sister. "
    "Town councillors held an emergency meeting in the old school to discuss help for families who lost wages. "
    "Shopkeepers on Canal Street offered coffee and bread to the firefighters during the long afternoon. "
    "Local historians worry that the brick facade, a landmark of the valley, may have to be demolished. "
    "A fund for the workers opened at the town hall and raised several thousand marks by nightfall."
)
REWRITE = (
    "A fire at Harveld's Kesper textile plant took firefighters nine hours to contain on Monday. "
    "Starting in a warehouse just after sunrise, the flames reached the roof of the principal weaving building. "
    "Sixty-two employees were moved out and four needed care for breathing in smoke, said Amos Tielman, "
    "who heads the fire service. "
    "Engineers are checking the walls, so police shut the route linking Harveld with the Lessin river harbour. "
    "Around 400 people work at the 1911 mill, which is the biggest source of jobs in the valley. "
    "The owners said a sister factory in Dorrow would take over production while repairs are carried out."
)


def art(text: str, outlet: str, published: str | None = None, wire: str | None = None,
        language: str = "en", title: str | None = None) -> Article:
    return Article(id=Article.make_id(text, outlet), source=Source(format="txt"), text=text, outlet=outlet,
                   published=published, wire=wire, language=language, title=title)


def one_story(*articles: Article) -> list[Story]:
    return [Story(id="s1", label="mill fire", article_ids=[a.id for a in articles])]


def test_exact_and_near_duplicates():
    index = NearDupIndex()
    a = art(WIRE, "Northern Press Agency")
    same = art(WIRE, "Mirror One")
    near = art(WIRE.replace("nine hours", "ten hours"), "Mirror Two")
    other = art(INDEPENDENT, "Harveld Gazette")
    assert index.add(a) is None
    assert index.add(same) == a.id
    assert index.add(near) == a.id
    assert index.add(other) is None
    assert {(r, d) for r, d, _ in index.pairs} == {(a.id, same.id), (a.id, near.id)}


def test_verbatim_republication_is_linked_to_the_wire():
    wire = art(WIRE, "Northern Press Agency", published="2025-05-05")
    copy = art(WIRE, "Valley Daily", published="2025-05-05", wire="NPA")
    reuse, groups, _ = find_provenance([copy, wire], one_story(copy, wire), ProvenanceState(LEXICAL))
    assert [(r.source_id, r.derived_id, r.kind) for r in reuse] == [(wire.id, copy.id, "verbatim")]
    assert reuse[0].direction_basis == "wire_credit"
    assert reuse[0].alignments and reuse[0].coverage == 1.0
    span = reuse[0].alignments[0].derived_span
    assert copy.text[span[0]:span[1]] in wire.text
    assert len(groups) == 1 and groups[0].origin_id == wire.id


def test_near_verbatim_trimmed_copy():
    trimmed = WIRE.rsplit(" Owners", 1)[0].replace("evacuated", "moved out")
    wire = art(WIRE, "Northern Press Agency", published="2025-05-05T08:00:00+00:00")
    copy = art(trimmed, "Lessin Ledger", published="2025-05-05T11:30:00+00:00")
    reuse, groups, _ = find_provenance([wire, copy], one_story(wire, copy), ProvenanceState(LEXICAL))
    assert [(r.source_id, r.derived_id, r.kind) for r in reuse] == [(wire.id, copy.id, "near_verbatim")]
    assert reuse[0].direction_basis in ("wire_credit", "published_time")
    assert len(groups) == 1


def test_exact_copies_in_the_same_outlet_are_duplicates():
    a = art(WIRE, "Northern Press Agency")
    b = Article(id="a-second-copy", source=Source(format="txt"), text=WIRE, outlet="Northern Press Agency")
    reuse, _, _ = find_provenance([a, b], one_story(a, b), ProvenanceState(LEXICAL))
    assert [(r.source_id, r.derived_id, r.kind) for r in reuse] == [(a.id, b.id, "duplicate")]


def test_independent_reports_are_not_linked():
    a, b = art(WIRE, "Northern Press Agency"), art(INDEPENDENT, "Harveld Gazette")
    reuse, groups, _ = find_provenance([a, b], one_story(a, b), ProvenanceState(LEXICAL))
    assert reuse == [] and len(groups) == 2


def test_shared_quote_alone_is_not_reuse():
    quote = '"We will rebuild every loom in this town, whatever it costs us and however long it takes," Tielman said.'
    a = art(INDEPENDENT + " " + quote, "Harveld Gazette")
    b = art(WIRE + " " + quote, "Northern Press Agency")
    assert align_pair(a, b, LEXICAL) is None


def test_direction_rules():
    base = dict(outlet="Valley Daily")
    cue = art(INDEPENDENT + " The fire was first reported by Northern Press Agency.", **base)
    src = art(INDEPENDENT.replace("Monday", "Monday night"), "Northern Press Agency")
    assert direction(cue, src)[1:] == (cue, "attribution_cue")
    told = art(WIRE + " Tielman told The Associated Press the roof was lost.", "Other Post")
    plain = art(REWRITE, "Plain News")
    assert direction(plain, told)[0] is told and direction(plain, told)[2] == "attribution_cue"
    early = art(REWRITE, "A", published="2025-05-05T08:00:00")
    late = art(INDEPENDENT, "B", published="2025-05-05T09:00:00")
    assert direction(late, early)[:1] == (early,) and direction(late, early)[2] == "published_time"
    same_day = art(INDEPENDENT, "C", published="2025-05-05")
    assert direction(same_day, early)[2] == "unknown"
    assert wire_credit(art("LESSIN, Ostmark (AP) \u2014 Water rose.", "X")) == "Associated Press"
    assert wire_credit(art("By Ada Lund\nReuters\nWater rose.", "X")) == "Reuters"


def test_state_is_reused_and_persisted(store):
    a, b = art(WIRE, "Northern Press Agency"), art(WIRE, "Valley Daily")
    for x in (a, b):
        store.add_article(x)
    first = update_provenance(store, stories=one_story(a, b), cfg=LEXICAL)
    state = ProvenanceState.load(store, LEXICAL)
    assert state.aligned and state.dups.pairs
    assert update_provenance(store, stories=one_story(a, b), cfg=LEXICAL) == first


@pytest.mark.parametrize("cfg", [LEXICAL, pytest.param(ProvenanceConfig(), marks=pytest.mark.slow)],
                         ids=["copies-only", "with-embeddings"])
def test_bad_input_does_not_crash_or_distort(cfg):
    wire = art(WIRE, "Northern Press Agency")
    indep = art(INDEPENDENT, "Harveld Gazette")
    copies = [art(INDEPENDENT, f"Mirror {n}") for n in range(300)]
    odd = [art("", "Empty"), art("Fire.", "Tiny"), art("One sentence about a fire in a mill in Harveld today.", "One"),
           art(WIRE + " " + "Ash fell on the town again and again. " * 30_000, "Huge"),
           art("Un incendie a ravagé la filature Kesper de Harveld lundi, selon les pompiers.", "Fr", language="fr")]
    arts = [wire, indep] + copies + odd
    reuse, groups, _ = find_provenance(arts, one_story(*arts), ProvenanceState(cfg))
    dups = [r for r in reuse if r.source_id == indep.id]
    assert len(dups) == 300 and all(r.kind == "verbatim" for r in dups)
    huge = odd[3].id
    assert all({r.source_id, r.derived_id} != {wire.id, indep.id} for r in reuse)
    assert any({r.source_id, r.derived_id} == {wire.id, huge} for r in reuse)  # the long copy still found
    sizes = sorted(len(g.article_ids) for g in groups)
    assert sizes[-1] == 301 and sum(sizes) == len(arts)


@pytest.mark.slow
def test_rewrite_in_other_words_is_found_and_independent_is_not():
    wire = art(WIRE, "Northern Press Agency", published="2025-05-05T08:00:00")
    rewrite = art(REWRITE, "Copy Desk", published="2025-05-05T10:00:00")
    indep = art(INDEPENDENT, "Harveld Gazette", published="2025-05-05T09:00:00")
    reuse, groups, _ = find_provenance([wire, rewrite, indep], one_story(wire, rewrite, indep))
    assert [(r.source_id, r.derived_id, r.kind) for r in reuse] == [(wire.id, rewrite.id, "paraphrase")]
    assert reuse[0].coverage >= 0.5
    assert len(groups) == 2


@pytest.mark.slow
def test_non_english_is_not_embedded(monkeypatch):
    import storydesk.models.embeddings as embed
    seen = []
    real = embed.embed
    monkeypatch.setattr(embed, "embed", lambda texts, cache=None, **kw: seen.extend(texts) or real(texts, cache, **kw))
    fr = art("La filature Kesper de Harveld a brûlé pendant neuf heures lundi matin selon les pompiers. " * 3, "Fr",
             language="fr")
    find_provenance([art(WIRE, "N"), fr], one_story(art(WIRE, "N"), fr))
    assert not any("filature" in t for t in seen)


# -- real data (skipped without ../shared) -------------------------------------

@pytest.mark.slow
def test_seeds(seeds_dir):
    """All five seeds in one story; 001 a paraphrase of 004; no other edge; four source groups."""
    from storydesk.analysis.stories import cluster_articles
    files = sorted(seeds_dir.glob("*.txt"))
    arts = [Article(id=Article.make_id(f.read_text(encoding="utf-8"), None), source=Source("txt", path=f.name),
                    text=f.read_text(encoding="utf-8"), language="en") for f in files]
    name = {a.id: a.source.path[:3] for a in arts}
    stories = cluster_articles(arts).records()
    assert len(stories) == 1
    reuse, groups, _ = find_provenance(arts, stories)
    assert [(name[r.source_id], name[r.derived_id], r.kind) for r in reuse] == [("004", "001", "paraphrase")]
    assert len(groups) == 4


@pytest.mark.slow
def test_sample_corpus_reuse(tmp_path):
    """The lead's fictional sample corpus: every gold reuse edge (source, derived, kind) and no other."""
    ingest = pytest.importorskip("storydesk.ingest")
    examples = Path(__file__).resolve().parents[1] / "examples"
    if not (examples / "ground_truth.json").exists():
        pytest.skip("examples/ground_truth.json is absent")
    from storydesk.store import SQLiteStore
    from storydesk.analysis.stories import refresh_stories
    gold = json.loads((examples / "ground_truth.json").read_text(encoding="utf-8"))
    with SQLiteStore(str(tmp_path / "s.db")) as store:
        ingest.ingest([str(examples / "corpus")], store)
        title = {a.id: a.title for a in store.articles()}
        refresh_stories(store)
        reuse, groups = update_provenance(store)
    got = {(title[r.source_id], title[r.derived_id], r.kind) for r in reuse}
    assert got == {(e["source"], e["derived"], e["kind"]) for e in gold["reuse"]}
    multi = {frozenset(title[i] for i in g.article_ids) for g in groups if len(g.article_ids) > 1}
    assert multi == {frozenset(g["keys"]) for g in gold["source_groups"] if len(g["keys"]) > 1}


@pytest.mark.slow
def test_cli_commands_and_pipeline(store, tmp_path):
    """`stories` and `provenance STORY_ID` (JSON and table), and both stages through the pipeline."""
    from click.testing import CliRunner
    import storydesk.analysis.stories  # noqa: F401  (registers the stories stage)
    from storydesk import pipeline
    from storydesk.cli.stories import provenance_cmd, stories_cmd
    wire = art(WIRE, "Northern Press Agency", published="2025-05-05T08:00:00")
    copy = art(WIRE, "Valley Daily", published="2025-05-05T09:00:00")
    indep = art(INDEPENDENT, "Harveld Gazette")
    for a in (wire, copy, indep):
        store.add_article(a)
    analysis = pipeline.run(store, ["stories", "provenance"])
    assert [(r.source_id, r.derived_id) for r in analysis.results["reuse"]] == [(wire.id, copy.id)]
    runner = CliRunner()
    out = runner.invoke(stories_cmd, ["--db", store.path, "--json"])
    assert out.exit_code == 0, out.output
    story_id = json.loads(out.output)[0]["id"]
    out = runner.invoke(provenance_cmd, [story_id[:8], "--db", store.path, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["reuse"][0]["pairs"][0]["source_text"] == report["reuse"][0]["pairs"][0]["derived_text"]
    table = runner.invoke(provenance_cmd, [story_id, "--db", store.path])
    assert "verbatim copy" in table.output and "direction by wire credit" in table.output
    assert "source :" not in table.output  # the aligned pairs only on request
    paired = runner.invoke(provenance_cmd, [story_id, "--db", store.path, "--pairs"])
    assert "source :" in paired.output and "derived:" in paired.output
    missing = runner.invoke(provenance_cmd, ["zzz", "--db", store.path])
    assert missing.exit_code != 0


def test_increasing_chain_and_kinds():
    from storydesk.analysis.provenance import _increasing_chain, reuse_kind
    seq = [3, 1, 4, 1, 5, 9, 2, 6]
    chain = _increasing_chain(seq)
    values = [seq[i] for i in chain]
    assert len(chain) == 4 and values == sorted(set(values)) and chain == sorted(chain)
    assert _increasing_chain([]) == []
    assert reuse_kind([[0, 0, 1.0, "verbatim"]] * 3) == "verbatim"
    assert reuse_kind([[0, 0, 1.0, "verbatim"]] * 4 + [[0, 0, 0.8, "near_verbatim"]]) == "near_verbatim"
    assert reuse_kind([[0, 0, 0.8, "paraphrase"]] * 3 + [[0, 0, 1.0, "verbatim"]]) == "paraphrase"


def test_the_judge_is_skipped_where_no_verdict_could_make_a_link():
    from storydesk.analysis.provenance import ProvenanceConfig, _could_link, _Sents

    def sents(n: int) -> _Sents:
        return _Sents(spans=[(i, i + 1) for i in range(n)], texts=[""] * n, keys=[""] * n,
                      grams=[set()] * n, nwords=[10] * n)

    cfg = ProvenanceConfig()
    a, b = sents(10), sents(10)
    # Two doubtful candidates out of ten sentences: even both accepted, coverage stays below the rule.
    assert not _could_link(a, b, {}, [(0, 0), (1, 1)], cfg)
    # Three copied sentences and three doubtful ones could reach it: they are judged.
    lexical = {j: (j, 1.0, "verbatim") for j in range(3)}
    assert _could_link(a, b, lexical, [(3, 3), (4, 4), (5, 5)], cfg)
