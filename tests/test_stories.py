"""Story clustering: same event together, same kind of event apart, stable ids, bad input."""
from __future__ import annotations

import json
import zlib

import pytest

from storydesk import pipeline
from storydesk.records import Article, Source, Story
from storydesk.analysis.stories import StoryIndex, cluster_articles, recluster, refresh_stories, update_stories

# Two invented earthquakes (same kind of event, different events) and one invented election.
QUAKE_A = [
    ("Quake shakes Velmora", "A magnitude 6.1 earthquake struck the mountain town of Velmora in Castavia on Tuesday, "
     "toppling the clock tower of the Ostrin Basilica. Mayor Ilka Threnody said 14 people were hurt in Velmora."),
    ("Velmora counts damage after tremor", "Rescue crews in Velmora searched the rubble near the Ostrin Basilica on "
     "Wednesday. Mayor Ilka Threnody said the 6.1 tremor damaged 300 homes across Velmora and the Castavia highlands."),
    ("Castavia sends aid to Velmora", "The Castavia government flew tents and water to Velmora after the magnitude 6.1 "
     "quake. Ilka Threnody, the town's mayor, thanked volunteers who cleared the square beside the Ostrin Basilica."),
]
QUAKE_B = [
    ("Earthquake hits Port Sarrow", "A magnitude 5.4 earthquake hit the harbour city of Port Sarrow in Lunedia on "
     "Friday, cracking the Hallam Bridge. Governor Pell Oduya said ferries to Port Sarrow were halted."),
    ("Port Sarrow bridge closed after quake", "Engineers closed the Hallam Bridge in Port Sarrow after Friday's 5.4 "
     "tremor. Governor Pell Oduya said Lunedia would inspect every pier in the Port Sarrow harbour."),
    ("Lunedia inspects Hallam Bridge", "Inspectors in Lunedia began checking the Hallam Bridge on Saturday. "
     "Pell Oduya, "
     "governor of the region, said Port Sarrow ferries could restart once the harbour piers were declared safe."),
]
ELECTION = [
    ("Brennick wins Tollvar vote", "Opposition leader Dara Brennick won the Tollvar presidential election on Sunday "
     "with 54 percent, the Tollvar electoral commission said. Brennick promised to reform the Qelm pension fund."),
    ("Tollvar president-elect Brennick names cabinet", "Dara Brennick, who won Sunday's vote in Tollvar, named "
     "economist Soren Vakk as finance minister and repeated her promise to reform the Qelm pension fund."),
]


def make(title: str, text: str, outlet: str = "Test Wire", published: str | None = None,
         language: str = "en") -> Article:
    return Article(id=Article.make_id(title + text, outlet), source=Source(format="txt"), text=text, title=title,
                   outlet=outlet, published=published, language=language)


def interleaved() -> list[Article]:
    rows = []
    for n in range(3):
        rows.append(make(*QUAKE_A[n], published=f"2025-03-0{n + 1}"))
        rows.append(make(*QUAKE_B[n], published=f"2025-04-0{n + 1}"))
        if n < len(ELECTION):
            rows.append(make(*ELECTION[n]))
    return rows


def groups_of(index: StoryIndex, articles: list[Article]) -> dict[str, str]:
    return {a.title: index.assigned[a.id] for a in articles}


def test_same_event_together_same_kind_apart():
    arts = interleaved()
    index = cluster_articles(arts)
    got = groups_of(index, arts)
    for event in (QUAKE_A, QUAKE_B, ELECTION):
        assert len({got[t] for t, _ in event}) == 1, f"{event[0][0]} split"
    assert len({got[QUAKE_A[0][0]], got[QUAKE_B[0][0]], got[ELECTION[0][0]]}) == 3


def test_story_record_has_label_and_dates():
    arts = interleaved()
    stories = cluster_articles(arts).records()
    quake_a = next(s for s in stories if arts[0].id in s.article_ids)
    assert quake_a.label
    assert (quake_a.first_seen, quake_a.last_seen) == ("2025-03-01", "2025-03-03")
    assert quake_a.id.startswith("s")


def test_ids_stable_as_the_stream_grows(store):
    arts = interleaved()
    for a in arts[:4]:
        store.add_article(a)
    first = {s.id: set(s.article_ids) for s in refresh_stories(store)}
    for a in arts[4:]:
        store.add_article(a)
    second = {s.id: set(s.article_ids) for s in refresh_stories(store)}
    for sid, members in first.items():
        assert sid in second and members <= second[sid]
    again = {s.id: set(s.article_ids) for s in refresh_stories(store)}
    assert again == second
    assert update_stories(store) == []  # nothing new: no story touched


def test_recluster_equals_a_fresh_run(store):
    arts = interleaved()
    for a in arts:
        store.add_article(a)
    before = {s.id: s.article_ids for s in refresh_stories(store)}
    after = {s.id: s.article_ids for s in recluster(store)}
    assert before == after
    assert {s.id for s in store.get_records("stories", Story)} == set(after)


def test_state_round_trip():
    arts = interleaved()
    index = cluster_articles(arts[:5])
    copy = StoryIndex.loads(index.dumps())
    cluster_articles(arts[5:], index)
    cluster_articles(arts[5:], copy)
    assert index.assigned == copy.assigned


def test_stage_runs_through_the_pipeline(store):
    for a in interleaved():
        store.add_article(a)
    analysis = pipeline.run(store, ["stories"])
    stories = analysis.results["stories"]
    assert sum(len(s.article_ids) for s in stories) == store.article_count()
    assert store.get_records("stories", Story)


def test_bad_input_does_not_crash_or_distort():
    arts = interleaved()
    clean = groups_of(cluster_articles(arts), arts)
    copies = [make(*ELECTION[0], outlet=f"Mirror {n}") for n in range(300)]
    odd = [
        make("", ""),  # empty
        make("Short", "Velmora."),  # one word
        make("One line", "A single sentence about nothing in particular happened today."),
        make("Long", "Velmora tremor aftershock report. " * 20_000),  # ~700k characters
        make("Séisme", "Un séisme de magnitude 6,1 a frappé Velmora mardi, selon la mairie.", language="fr"),
    ]
    messy = arts[:3] + copies + odd + arts[3:]
    index = cluster_articles(messy)
    assert set(index.assigned) == {a.id for a in messy}
    got = groups_of(index, arts)
    same = {(a.title, b.title) for a in arts for b in arts if clean[a.title] == clean[b.title]}
    assert {(a.title, b.title) for a in arts for b in arts if got[a.title] == got[b.title]} == same
    # The copies join the original's story and leave the statistics alone.
    assert {index.assigned[c.id] for c in copies} == {got[ELECTION[0][0]]}
    assert index.n_docs == len(arts) + len(odd)


def test_posting_reads_are_capped():
    # Many stories sharing one term: a lookup reads at most posting_cap of them.
    from storydesk.analysis.stories import ClusterConfig
    index = StoryIndex(ClusterConfig(posting_cap=5))
    for n in range(40):
        index.add(make(f"Zorvath item {n}", f"Zorvath ledger entry number {n} filed by clerk Q{n}x."))
    assert all(len(p) <= 40 for p in index.postings.values())
    reads = []
    original = index.stories.__class__.__getitem__

    class Counting(dict):
        def __getitem__(self, key):
            reads.append(key)
            return original(self, key)

    index.stories = Counting(index.stories)
    index.add(make("Zorvath item new", "Zorvath ledger entry filed by clerk Q999x."))
    assert len(set(reads)) <= 5 * index.cfg.query_terms


def _sample_stories(tmp_path):
    import json
    from pathlib import Path
    examples = Path(__file__).resolve().parents[1] / "examples"
    ingest = pytest.importorskip("storydesk.ingest")
    if not (examples / "ground_truth.json").exists():
        pytest.skip("examples/ground_truth.json is absent")
    from storydesk.store import SQLiteStore
    gold = json.loads((examples / "ground_truth.json").read_text(encoding="utf-8"))
    with SQLiteStore(str(tmp_path / "s.db")) as store:
        ingest.ingest([str(examples / "corpus")], store)
        titles = {a.id: a.title for a in store.articles()}
        stories = refresh_stories(store)
    got = {frozenset(titles[i] for i in s.article_ids) for s in stories}
    want = {frozenset(v["keys"]) for v in gold["stories"].values()}
    return got, want


def test_sample_corpus_no_story_mixes_events(tmp_path):
    """The lead's fictional sample corpus: no story mixes the two dam floods."""
    got, want = _sample_stories(tmp_path)
    assert all(any(g <= w for w in want) for g in got)


def test_sample_corpus_stories_exact(tmp_path):
    # Includes the Lorrin shelter feature, which shares little more than the town's
    # name with story A and joins it through the dated proper-name second chance.
    got, want = _sample_stories(tmp_path)
    assert got == want


def _name_join_index(published_feature):
    from storydesk.records import Source
    index = StoryIndex()
    base = ("The Brezna Dam failed overnight and floodwater swept through the town of Quellmoor. "
            "Rescuers in Quellmoor searched flooded streets as the Brezna reservoir emptied.")
    for n, day in enumerate(["2025-05-10", "2025-05-11"]):
        text = base + f" Update {n}: officials in Quellmoor counted damage to {n + 3} bridges."
        index.add(Article(id=f"a{n}", source=Source(format="text"), text=text,
                          title=f"Brezna Dam failure floods Quellmoor ({n})", published=day))
    feature = ("Retired teacher Ilka Varsen bakes bread each morning for the families sleeping in "
               "the Quellmoor school gym, she said, and neighbours bring blankets, soup, coffee and "
               "crayons. Her grandson Tomas sorts donated coats by size while a choir rehearses "
               "quietly in the corridor beside the kitchen.")
    sid = index.add(Article(id="f", source=Source(format="text"), text=feature,
                            title="A baker feeds the evacuees", published=published_feature))
    return index, sid


def test_dated_feature_sharing_a_storys_distinctive_name_joins_it():
    index, sid = _name_join_index("2025-05-12")
    assert sid == index.assigned["a0"] == index.assigned["a1"]


@pytest.mark.parametrize("published", [None, "2025-06-30"])
def test_name_second_chance_needs_a_date_within_the_storys_days(published):
    index, sid = _name_join_index(published)
    assert index.assigned["a0"] == index.assigned["a1"]
    assert sid != index.assigned["a0"]


def test_index_saved_by_another_version_is_rebuilt_not_fatal(tmp_path):
    from storydesk.analysis.stories import STATE_NAME
    from storydesk.store import SQLiteStore

    with SQLiteStore(str(tmp_path / "v.db")) as store:
        text = "Floodwater reached the town of Arlow on Monday after the river burst its banks."
        store.add_article(Article(id=Article.make_id(text, "X"), source=Source(format="text"), text=text, outlet="X"))
        first = refresh_stories(store)
        bad = {"n_docs": 1, "df": {}, "by_text": {}, "stories": [["s", {}, [], None, None, "l", "extra"]]}
        store.put_state(STATE_NAME, zlib.compress(json.dumps(bad).encode()))
        again = refresh_stories(store)
    assert [s.article_ids for s in again] == [s.article_ids for s in first]
    assert [s.id for s in again] == [s.id for s in first]


# -- stories bounded in time --------------------------------------------------------
# One invented minister in three separate events, months apart: a recurring actor is not an event.
MINISTER = [
    ("2024-02-05", "Minister Orla Fenwright opens Castavia rail link",
     "Transport Minister Orla Fenwright opened the Velmora rail link in Castavia on Monday, "
     "promising faster trains between Velmora and the coast."),
    ("2024-02-06", "Fenwright hails Velmora rail link",
     "Orla Fenwright, Castavia's transport minister, said the Velmora rail link would carry "
     "trains to the coast in under an hour."),
    ("2024-06-11", "Minister Orla Fenwright faces Castavia rail strike",
     "Transport Minister Orla Fenwright met rail unions in Castavia on Tuesday as a strike halted "
     "trains between Velmora and the coast."),
    ("2024-06-12", "Fenwright talks fail as Velmora trains stay idle",
     "Talks between Orla Fenwright, Castavia's transport minister, and the rail unions failed, "
     "leaving trains between Velmora and the coast idle."),
]


def test_recurring_actor_months_apart_is_two_stories():
    arts = [make(title, text, outlet=f"O{n}", published=day) for n, (day, title, text) in enumerate(MINISTER)]
    # The stream goes on between the two events (other stories, dated in step).
    days = ["2024-02-20", "2024-03-05", "2024-03-20", "2024-04-04", "2024-04-19", "2024-05-04", "2024-05-19",
            "2024-06-03", "2024-06-10"]
    between = [make(*QUAKE_B[n % 3], outlet=f"F{n}", published=day) for n, day in enumerate(days)]
    index = cluster_articles(arts[:2] + between + arts[2:])
    got = [index.assigned[a.id] for a in arts]
    assert got[0] == got[1] and got[2] == got[3]
    assert got[0] != got[2]
    # Undated, the same four articles are judged on content alone and merge: dates make the split.
    undated = [make(title, text, outlet=f"O{n}") for n, (_, title, text) in enumerate(MINISTER)]
    index = cluster_articles(undated)
    assert len({index.assigned[a.id] for a in undated}) == 1


def test_window_follows_the_story():
    # Daily coverage keeps a story open for weeks; a gap longer than the window closes it.
    days = ["2024-03-01", "2024-03-03", "2024-03-06", "2024-03-09", "2024-03-12"]
    arts = [make(f"{QUAKE_A[n % 3][0]} ({n})", QUAKE_A[n % 3][1], outlet=f"O{n}", published=d)
            for n, d in enumerate(days)]
    late = make("Velmora, one year on", QUAKE_A[0][1] + " A year later.", outlet="Late", published="2025-03-01")
    filler = make(*ELECTION[0], outlet="F", published="2025-02-27")  # the stream has reached 2025
    index = cluster_articles(arts + [filler, late])
    assert len({index.assigned[a.id] for a in arts}) == 1
    assert index.assigned[late.id] != index.assigned[arts[0].id]


def test_a_page_date_out_of_step_with_the_stream_may_join_on_close_content():
    # A page date months after everything stored (a wrong date) joins the story its content
    # matches closely; the same article dated within the stream but outside the window does not.
    arts = [make(*QUAKE_A[n], outlet=f"O{n}", published=f"2025-03-0{n + 1}") for n in range(3)]
    text = QUAKE_A[0][1] + " " + QUAKE_A[1][1]
    wrong = make("Velmora quake", text, outlet="Wrong", published="2026-01-15")
    index = cluster_articles(arts + [wrong])
    assert index.assigned[wrong.id] == index.assigned[arts[0].id]
    filler = make("Tollvar vote", ELECTION[0][1], outlet="F", published="2025-08-01")
    outside = make("Velmora quake", text, outlet="Outside", published="2025-07-20")
    index = cluster_articles(arts + [filler, outside])
    assert index.assigned[outside.id] != index.assigned[arts[0].id]


def test_undated_articles_join_only_recently_active_stories():
    from storydesk.analysis.stories import ClusterConfig
    first = make(*QUAKE_A[0], outlet="A")
    others = [make(f"Item {n}", f"Zorvath ledger entry number {n} filed by clerk Q{n}x in Brisco.", outlet="B")
              for n in range(5)]
    again = make(*QUAKE_A[1], outlet="C")
    index = cluster_articles([first] + others + [again], cfg=ClusterConfig(undated_window=3))
    assert index.assigned[again.id] != index.assigned[first.id]
    index = cluster_articles([first] + others + [again], cfg=ClusterConfig(undated_window=50))
    assert index.assigned[again.id] == index.assigned[first.id]


# -- meaning beside words ------------------------------------------------------------
def test_article_embedding_is_the_same_read_from_the_store_or_encoded(store):
    # The stored vectors are float16; an article's embedding passes through float16 either
    # way, so a run reading the per-article work equals a run that encoded everything.
    from storydesk.analysis.stories import article_vectors
    arts = interleaved()
    encoded, fresh = article_vectors(arts)
    assert fresh and all(v is not None and abs(float(v @ v) - 1) < 1e-2 for v in encoded)
    store.put_vectors(fresh)
    read, missing = article_vectors(arts, store=store)
    assert missing == {}
    assert all((a == b).all() for a, b in zip(encoded, read))
    french = make("Séisme", "Un séisme a frappé Velmora mardi.", language="fr")
    assert article_vectors([french])[0] == [None]  # judged on words alone


def test_index_of_another_version_forgets_the_stories_it_made(store):
    from storydesk.analysis.stories import STATE_NAME
    arts = interleaved()
    for a in arts:
        store.add_article(a)
    first = refresh_stories(store)
    store.put_records("stories", [Story(id="s-stale", label="old", article_ids=[arts[0].id])], story_id="s-stale")
    store.put_state(STATE_NAME, zlib.compress(json.dumps({"version": 2, "stories": []}).encode()))
    again = refresh_stories(store)
    assert {s.id for s in store.get_records("stories", Story)} == {s.id for s in again} == {s.id for s in first}
