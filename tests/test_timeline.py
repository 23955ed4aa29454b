"""Publication-date checks and the story timeline (storydesk.analysis.timeline).

The Orlan levee story below is fictional and written for these tests.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from storydesk.pipeline import Analysis
from storydesk.records import Article, Source, TimelineEvent
from storydesk.analysis.timeline import (DateCheck, check_story_dates, dating_stage, events_for, story_timeline,
                                timeline_stage)
from storydesk.analysis.timex import value_range

from conftest import EXAMPLES, SHARED

LEVEE = ("ORLAN - The Veska River levee gave way at nightfall on Sunday, flooding the lower town of Orlan.\n"
         "Rescue crews evacuated about 2,000 residents on Monday, the regional office said.\n"
         "The regional governor will visit the town on Friday.")
LEVEE_2 = ("The Veska River levee gave way on Sunday evening and flooded the lower town of Orlan.\n"
           "Engineers had warned in January 2031 that the levee was weak.\n"
           "Residents wade through water in Orlan, Sunday, March 9, 2031. (Photo/Ana Rell)")
MISDATED = ("On Sunday the Veska River levee gave way and flooded the lower town of Orlan, residents said.\n"
            "Rescue boats were still moving through the streets this morning.")
UNDATED = ("Water began to drain from the lower town of Orlan on March 12, 2031, officials said.\n"
           "The mayor said Thursday that the schools of Orlan had reopened.")


def art(text: str, published=None, basis="metadata", title="t", language="en") -> Article:
    return Article(id=Article.make_id(text, title), source=Source("text"), text=text, title=title,
                   published=published, published_basis=basis if published else "unknown", language=language)


@pytest.fixture
def story():
    return [art(LEVEE, "2031-03-11T09:00:00+00:00"), art(LEVEE_2, "2031-03-12"),
            art(MISDATED, "2031-09-20", basis="text"), art(UNDATED)]


def _checks(articles) -> dict[str, DateCheck]:
    return {c.article_id: c for c in check_story_dates(articles)}


# ---------------------------------------------------------------------------- dating
def test_stated_date_that_does_not_fit_is_flagged(story):
    checks = _checks(story)
    bad = story[2]
    assert checks[bad.id].verdict == "mismatch"
    flag = next(f for f in bad.flags if f.kind == "date_mismatch")
    assert "2031-09-20" in flag.detail and "2031-03" in flag.detail
    assert bad.published == "2031-09-20"  # flagged, not rewritten
    assert checks[bad.id].evidence  # the spans the verdict rests on
    assert {checks[a.id].verdict for a in story[:2]} == {"ok"}
    assert not any(a.has_flag("date_mismatch") for a in story[:2])


def test_missing_date_is_inferred_from_content(story):
    checks = _checks(story)
    undated = story[3]
    check = checks[undated.id]
    assert check.verdict == "inferred" and undated.published_basis == "inferred"
    lo, hi = (dt.date.fromisoformat(d) for d in check.window)
    day = dt.date.fromisoformat(undated.published)
    assert dt.date(2031, 3, 12) <= lo <= day <= hi  # never before the date its text reports
    flag = next(f for f in undated.flags if f.kind == "date_inferred")
    assert "2031-03-12" in flag.detail and "Thursday" in flag.detail


def test_missing_date_is_inferred_from_the_story():
    dated = [art(LEVEE, "2031-03-11"), art(LEVEE_2, "2031-03-12")]
    lonely = art("Volunteers from the lower town of Orlan filled sandbags along the Veska River, residents said.")
    checks = _checks(dated + [lonely])
    assert checks[lonely.id].verdict == "inferred"
    lo, hi = (dt.date.fromisoformat(d) for d in checks[lonely.id].window)
    assert lo <= dt.date(2031, 3, 11) and dt.date(2031, 3, 12) <= hi


def test_no_dates_at_all_stay_unknown():
    a = art("Volunteers filled sandbags along the river. Nobody knows when the water will go down.")
    checks = _checks([a])
    assert checks[a.id].verdict == "undetermined"
    assert a.published is None and a.published_basis == "unknown"
    assert not a.has_flag("date_inferred")
    assert story_timeline([a], checks) == []


def test_stated_date_before_the_events_it_reports():
    a = art("The Orlan bridge collapsed on March 9, 2031, the police said.", "2031-03-01")
    checks = _checks([a])
    assert checks[a.id].verdict == "mismatch"
    assert "2031-03-09" in next(f for f in a.flags if f.kind == "date_mismatch").detail


def test_impossible_and_contradictory_dates_are_flagged():
    a = art("The contract was signed on February 30, 2031, the council said.\n"
            "The levee broke on Sunday, March 11, 2031, residents said.", "2031-03-12")
    checks = _checks([a])
    assert a.has_flag("impossible_date") and a.has_flag("date_contradiction")
    events = story_timeline([a], checks)
    assert not any(e.date.startswith("2031-02") for e in events)


def test_checks_are_idempotent(story):
    _checks(story)
    first = [(a.published, a.published_basis, [f.kind for f in a.flags]) for a in story]
    _checks(story)
    assert [(a.published, a.published_basis, [f.kind for f in a.flags]) for a in story] == first


# ---------------------------------------------------------------------------- timeline
def test_timeline_merges_orders_and_cites(story):
    checks = _checks(story)
    events = story_timeline(story, checks)
    assert all(isinstance(e, TimelineEvent) for e in events)
    starts = [value_range(e.date)[0] for e in events]
    assert starts == sorted(starts)
    breach = [e for e in events if e.date == "2031-03-09"]
    assert len(breach) == 1 and e_cites(breach[0]) >= {story[0].id, story[1].id}
    assert any(e.date == "2031-03-10" and "evacuated" in e.text for e in events)
    assert any(e.date == "2031-01" and e.precision == "month" for e in events)
    for e in events:
        assert e.precision in ("day", "week", "month", "year")
        for c in e.citations:
            text = next(a.text for a in story if a.id == c.article_id)
            assert " ".join(text[c.span[0]:c.span[1]].split())  # a real sentence
    cited = {c.article_id for e in events for c in e.citations}
    assert story[2].id not in cited  # the misdated article's "Sunday" cannot be placed


def e_cites(event: TimelineEvent) -> set[str]:
    return {c.article_id for c in event.citations}


def test_plans_captions_and_undated_articles_are_not_events(story):
    events = story_timeline(story, _checks(story))
    texts = " ".join(e.text for e in events)
    assert "will visit" not in texts  # a plan, not something that happened
    assert "Photo/" not in texts  # a caption
    assert events_for(events, [story[0].id]) and not events_for(events, ["a-none"])


def test_relative_dates_need_a_known_article_date():
    a = art("The levee gave way on Sunday, residents said.")  # no date, no story: nothing to hang "Sunday" on
    assert story_timeline([a], _checks([a])) == []


def test_non_english_articles_are_skipped():
    a = art("La digue a cédé dimanche, ont dit les habitants.", "2031-03-11", language="fr")
    assert story_timeline([a], _checks([a])) == []


# ---------------------------------------------------------------------------- stages
def test_stages_update_the_store_and_return_records(store, story):
    for a in story:
        store.add_article(a)
    analysis = Analysis(store=store, articles=store.articles())
    out = dating_stage(analysis)
    assert set(out) == {"date_checks"} and all(isinstance(c, DateCheck) for c in out["date_checks"])
    assert store.get_article(story[3].id).published_basis == "inferred"
    assert store.get_article(story[2].id).has_flag("date_mismatch")
    analysis.results["date_checks"] = out["date_checks"]
    events = timeline_stage(analysis)["timeline"]
    assert events and all(isinstance(e, TimelineEvent) for e in events)
    # A second run finds the same thing and does not pile up flags.
    again = dating_stage(Analysis(store=store, articles=store.articles()))
    assert [c.verdict for c in again["date_checks"]] == [c.verdict for c in out["date_checks"]]
    assert [f.kind for f in store.get_article(story[2].id).flags].count("date_mismatch") == 1
    assert DateCheck.from_dict(json.loads(json.dumps(out["date_checks"][0].to_dict()))) == out["date_checks"][0]


def test_single_article_story(store):
    a = art(LEVEE, "2031-03-11")
    store.add_article(a)
    analysis = Analysis(store=store, articles=store.articles())
    checks = dating_stage(analysis)["date_checks"]
    assert checks[0].verdict in ("ok", "unchecked")
    analysis.results["date_checks"] = checks
    assert timeline_stage(analysis)["timeline"]


# ---------------------------------------------------------------------------- real and sample data
def test_seed_misdated_article_is_flagged(tmp_path):
    seeds = SHARED / "seeds"
    if not seeds.is_dir():
        pytest.skip("../shared/seeds is absent (it is not part of the repository)")
    from storydesk.ingest import ingest
    from storydesk.store import SQLiteStore

    with SQLiteStore(str(tmp_path / "seeds.db")) as s:
        ingest([str(seeds)], s)
        articles = s.articles()
        checks = _checks(articles)  # the five seeds are one story
        by_file = {a.source.path.rsplit("/", 1)[-1][:3]: a for a in articles}
        assert checks[by_file["002"].id].verdict == "mismatch"
        assert by_file["002"].has_flag("date_mismatch")
        assert not any(checks[a.id].verdict == "mismatch" for k, a in by_file.items() if k != "002")


def test_sample_corpus_misdated_article_and_timeline(tmp_path):
    truth_path = EXAMPLES / "ground_truth.json"
    if not truth_path.exists():
        pytest.skip("examples/ground_truth.json is absent")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    from storydesk.ingest import ingest
    from storydesk.store import SQLiteStore

    with SQLiteStore(str(tmp_path / "sample.db")) as s:
        ingest([str(EXAMPLES / "corpus")], s)
        by_title = {a.title: a for a in s.articles()}
    stories: dict[str, list[Article]] = {}
    for t in truth["articles"]:
        stories.setdefault(t["story"], []).append(by_title[t["key"]])
    checks: dict[str, DateCheck] = {}
    events: list[TimelineEvent] = []
    for arts in stories.values():
        checks.update(_checks(arts))
        events += story_timeline(arts, checks)
    for t in truth["articles"]:
        verdict = checks[by_title[t["key"]].id].verdict
        assert (verdict == "mismatch") == t["misdated"], t["key"]
    # Every ground-truth event with a day, week or month date is found with that date.
    found = 0
    wanted = [e for e in truth.get("timeline", [])]
    for gt in wanted:
        texts = [ev["text"] for ev in gt["evidence"]]
        if any(e.date == gt["date"] and any(x in e.text or any(x in by_cite(by_title, c) for c in e.citations)
                                            for x in texts) for e in events):
            found += 1
    assert wanted and found / len(wanted) >= 0.7


def by_cite(by_title: dict, citation) -> str:
    article = next(a for a in by_title.values() if a.id == citation.article_id)
    return article.text[citation.span[0]:citation.span[1]]
