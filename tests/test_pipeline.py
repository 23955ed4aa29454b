"""The stage plan and the incremental engine: declared work, incremental equals from scratch,
resumable after kill -9, failures isolated and visible."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storydesk import engine, pipeline
from storydesk.briefing import build_briefing
from storydesk.errors import PipelineError
from storydesk.ingest import ingest
from storydesk.pipeline import Analysis, StageSpec
from storydesk.records import Article, Source, Story
from storydesk.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
FILES = sorted(str(p) for p in CORPUS.iterdir() if p.is_file())


def briefing_json(store) -> dict:
    doc = build_briefing(store).to_dict()
    doc.pop("generated_at")
    return doc


# -- the plan ---------------------------------------------------------------------
def test_registry_loads_itself_whatever_was_imported_first():
    code = ("import storydesk.pipeline as p; print(','.join(s.name for s in p.plan()))")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    code2 = "import storydesk.analysis.summary, storydesk.analysis.claims; " + code
    second = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, check=True).stdout
    assert first == second and first.strip().split(",")[0] == "stories"
    assert {"provenance", "entities", "quotes", "dating", "timeline", "claims", "summary"} <= set(first.strip().split(","))


def test_plan_puts_needs_first_and_pulls_in_upstream_stages():
    names = [s.name for s in pipeline.plan(["summary"])]
    assert names[0] == "stories" and names[-1] == "summary"
    order = [s.name for s in pipeline.plan()]
    for spec in pipeline.plan():
        for kind in spec.needs + spec.wants:
            producers = [s.name for s in pipeline.plan() if kind in s.adds]
            assert all(order.index(p) < order.index(spec.name) for p in producers), (spec.name, kind)


def test_unknown_stage_is_a_named_error():
    with pytest.raises(PipelineError, match="unknown stage"):
        pipeline.plan(["nonsense"])


def test_a_stage_cannot_read_what_it_did_not_declare():
    spec = StageSpec("probe", lambda a: {}, needs=("stories",), adds={})
    analysis = Analysis(articles=[], story=Story(id="s1", label="x"), spec=spec)
    assert analysis.get("stories")[0].id == "s1"
    with pytest.raises(PipelineError, match="without declaring"):
        analysis.get("quotes")


def test_every_story_stage_declares_its_per_article_work():
    reg = pipeline.registry()
    assert "docs" in reg["entities"].needs and "docs" in reg["quotes"].needs
    assert "sentence_vectors" in reg["provenance"].needs
    assert reg["stories"].scope == "store"


# -- the engine on the sample corpus -----------------------------------------------
@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """The sample corpus analysed in one run (files in sorted order), and its briefing."""
    db = str(tmp_path_factory.mktemp("scratch") / "s.db")
    with SQLiteStore(db) as store:
        ingest(FILES, store, progress=False)
        report = engine.run(store, jobs=1, progress=False)
        assert not report.errors, [e.describe() for e in report.errors]
        return db, briefing_json(store), report


@pytest.mark.slow
def test_incremental_equals_from_scratch(scratch, tmp_path):
    _, expected, full = scratch
    half = len(FILES) // 2
    with SQLiteStore(str(tmp_path / "i.db")) as store:
        ingest(FILES[:half], store, progress=False)
        engine.run(store, jobs=1, progress=False)
        ingest(FILES[half:], store, progress=False)
        second = engine.run(store, jobs=1, progress=False)
        assert briefing_json(store) == expected
        assert second.worked < full.worked  # the first half was not parsed again
        again = engine.run(store, jobs=1, progress=False)
        assert not again.did_anything


@pytest.mark.slow
def test_two_worker_processes_give_the_same_briefing(scratch, tmp_path):
    """Workers forked with the model already loaded, or spawned, change nothing."""
    _, expected, _ = scratch  # this process holds ONNX sessions now: the workers are spawned
    with SQLiteStore(str(tmp_path / "w.db")) as store:
        ingest(FILES, store, progress=False)
        executor = engine.ProcessExecutor(2, preload=[])
        try:
            report = engine.run(store, executor=executor, progress=False)
        finally:
            executor.close()
        assert not report.errors and report.worked == store.article_count()
        assert briefing_json(store) == expected


@pytest.mark.slow
def test_one_new_article_reruns_only_its_story(scratch, tmp_path):
    db, _, full = scratch
    copy = tmp_path / "c.db"
    src = sqlite3.connect(db)
    src.backup(sqlite3.connect(copy))
    with SQLiteStore(str(copy)) as store:
        extra = Article(id=Article.make_id(NEW_TEXT, "Fjordline Courier"), source=Source("text"), text=NEW_TEXT,
                        title="Second dam inspected", outlet="Fjordline Courier", language="en")
        store.add_article(extra)
        report = engine.run(store, jobs=1, progress=False)
        assert report.worked == 1 and report.new_articles == 1
        assert report.stories_run == 1 < full.stories


@pytest.mark.slow
def test_redoing_one_kind_of_work_leaves_the_other_stored(scratch, tmp_path, monkeypatch):
    """New sentence vectors (a new embedding model, say) must not re-parse every article."""
    from storydesk import work
    from storydesk.models import nlp
    db, expected, _ = scratch
    copy = tmp_path / "v.db"
    sqlite3.connect(db).backup(sqlite3.connect(copy))
    parsed = []
    real = nlp.parse
    monkeypatch.setattr(nlp, "parse", lambda texts, **kw: parsed.extend(texts) or real(texts, **kw))
    with SQLiteStore(str(copy)) as store:
        store.delete_work(["sentences"])
        report = engine.run(store, jobs=1, progress=False)
        assert report.worked == store.article_count() and parsed == []
        assert not store.ids_without_work("sentences", work.version("sentences"))
        assert briefing_json(store) == expected


def _forget_in_process_caches():
    from storydesk.analysis import provenance, timeline
    timeline._analysed.cache_clear()
    provenance._credits.cache_clear()


@pytest.mark.slow
def test_kept_facts_read_back_give_the_same_briefing(scratch, tmp_path):
    """Every story re-run from the stored per-article facts (mentions, time expressions,
    figures) alone, nothing recomputed: the briefing is the one computed from scratch."""
    db, expected, _ = scratch
    copy = tmp_path / "f.db"
    sqlite3.connect(db).backup(sqlite3.connect(copy))
    with SQLiteStore(str(copy)) as store:
        assert store.db.execute("SELECT count(*) FROM article_facts").fetchone()[0] > 0
        store.db.execute("DELETE FROM story_runs")
        _forget_in_process_caches()
        report = engine.run(store, jobs=1, progress=False)
        assert report.stories_run == full_stories(store)
        assert briefing_json(store) == expected


def full_stories(store) -> int:
    return len(store.get_records("stories", Story))


@pytest.mark.slow
def test_a_story_rerun_computes_only_the_new_articles_facts(scratch, tmp_path, monkeypatch):
    from storydesk.analysis import claims, entities, timeline
    db, _, _ = scratch
    copy = tmp_path / "n.db"
    sqlite3.connect(db).backup(sqlite3.connect(copy))
    seen: dict[str, list[str]] = {"mentions": [], "figures": [], "timex": []}
    for module, name, kind, text_of in ((entities, "find_mentions", "mentions", lambda a, *_: a.text),
                                        (claims, "article_figures", "figures", lambda a, *_: a.text),
                                        (timeline, "analyse", "timex", lambda t, *_: t)):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real, _k=kind, _t=text_of, **kw:
                            seen[_k].append(_t(*a)) or _r(*a, **kw))
    _forget_in_process_caches()
    with SQLiteStore(str(copy)) as store:
        # A later version of a story's first article: it joins that story.
        story = max(store.get_records("stories", Story), key=lambda s: len(s.article_ids))
        first = store.get_article(story.article_ids[0])
        text = first.text + "\n\nThe board said it would publish the inspection report next week."
        extra = Article(id=Article.make_id(text, "Fjordline Courier"), source=Source("text"), text=text,
                        title=first.title, outlet="Fjordline Courier", language="en")
        store.add_article(extra)
        report = engine.run(store, jobs=1, progress=False)
        joined = next(s for s in store.get_records("stories", Story) if extra.id in s.article_ids)
        assert report.stories_run == 1 and joined.id == story.id
    assert seen["mentions"] == [text] and seen["figures"] == [text]
    assert seen["timex"] and set(seen["timex"]) == {text}


NEW_TEXT = ("Engineers inspected the second dam above Kvarn on Thursday after the flood, the regional "
            "water board said. The board said the spillway held and no further evacuations were planned.")


@pytest.mark.slow
def test_kill_during_analyze_then_resume_gives_the_same_briefing(scratch, tmp_path):
    _, expected, _ = scratch
    db = str(tmp_path / "k.db")
    with SQLiteStore(db) as store:
        ingest(FILES, store, progress=False)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "storydesk.cli", "analyze", "--db", db, "--jobs", "1", "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        with sqlite3.connect(db, timeout=30) as con:
            if con.execute("SELECT count(*) FROM article_work").fetchone()[0] >= 4:
                break
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with SQLiteStore(db) as store:
        report = engine.run(store, jobs=1, progress=False)
        assert not killed or report.did_anything
        assert briefing_json(store) == expected


# -- failures ---------------------------------------------------------------------
@pytest.mark.slow
def test_a_stage_failing_on_one_article_flags_it_and_keeps_the_rest(tmp_path, monkeypatch):
    from storydesk import queries
    from storydesk.analysis import entities

    with SQLiteStore(str(tmp_path / "f.db")) as store:
        ingest(FILES, store, progress=False)
        victim = store.articles()[0]
        real = entities.find_mentions

        def flaky(article, doc):
            if article.id == victim.id:
                raise ValueError("boom")
            return real(article, doc)

        monkeypatch.setattr(entities, "find_mentions", flaky)
        report = engine.run(store, jobs=1, progress=False)
        assert [(e.stage, e.article_id, e.error) for e in report.errors] == [("entities", victim.id, "ValueError")]
        stored = queries.errors(store)
        assert [e.article_id for e in stored] == [victim.id]
        mentioned = {m.article_id for e in queries.entities(store) for m in e.mentions}
        assert victim.id not in mentioned and len(mentioned) > 5
        assert queries.quotes(store)  # later stages still ran
        # The reader sees it: the article is flagged and the briefing's notes say what is missing.
        from storydesk.briefing import render
        briefing = build_briefing(store)
        assert [e.article_id for e in briefing.analysis_errors] == [victim.id]
        flagged = [a for a in briefing.articles if any(f.kind == "analysis_error" for f in a.flags)]
        assert [a.id for a in flagged] == [victim.id] and "entities: ValueError: boom" in flagged[0].flags[-1].detail
        assert "The entities step failed on" in render(briefing, "md")


@pytest.mark.slow
def test_a_stage_failing_on_a_story_keeps_the_other_stages(tmp_path, monkeypatch):
    from storydesk import queries
    from storydesk.analysis import timeline

    def broken(articles, checks):
        raise RuntimeError("timeline broke")

    monkeypatch.setattr(timeline, "story_timeline", broken)
    with SQLiteStore(str(tmp_path / "g.db")) as store:
        ingest(FILES[:6], store, progress=False)
        report = engine.run(store, jobs=1, progress=False)
        assert report.errors and {e.stage for e in report.errors} == {"timeline"}
        assert all(e.article_id is None and e.story_id for e in report.errors)
        assert queries.entities(store) and build_briefing(store).summary
        assert not build_briefing(store).timeline


def test_analyze_exit_code_says_some_work_failed(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from storydesk import cli

    def fake_run(store, **kwargs):
        report = engine.RunReport(articles=1, worked=1, stories=1, stories_run=1)
        report.errors.append(pipeline.AnalysisError.make("quotes", "s1", "a1", ValueError("bad")))
        return report

    monkeypatch.setattr(engine, "run", fake_run)
    result = CliRunner().invoke(cli.cli, ["analyze", "--db", str(tmp_path / "x.db"), "-q"])
    assert result.exit_code == 3
    assert "quotes failed on article a1" in result.output


def test_db_option_before_or_after_the_subcommand(tmp_path):
    from click.testing import CliRunner

    from storydesk import cli

    db = tmp_path / "o.db"
    with SQLiteStore(str(db)) as store:
        store.add_article(Article(id="a1", source=Source("text"), text="One short text.", language="en"))
    for args in (["--db", str(db), "articles", "--json"], ["articles", "--json", "--db", str(db)]):
        result = CliRunner().invoke(cli.cli, args)
        assert result.exit_code == 0 and json.loads(result.output)[0]["id"] == "a1", result.output
