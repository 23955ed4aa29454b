"""The CLI is thin: it calls the library and turns named errors into exit codes."""
from __future__ import annotations

import json

from click.testing import CliRunner

from storydesk.cli import cli

from conftest import FIXTURES


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_ingest_summary_and_exit_code(tmp_path):
    db = str(tmp_path / "c.db")
    result = run("ingest", str(FIXTURES), str(tmp_path / "missing.txt"), "--db", db)
    assert result.exit_code == 1  # some input failed
    assert "added" in result.output and "missing.txt" in result.output
    again = run("ingest", str(FIXTURES / "page.html"), "--db", db)
    assert again.exit_code == 0 and "0 added, 1 already present" in again.output


def test_ingest_json_report(tmp_path):
    db = str(tmp_path / "c.db")
    result = run("ingest", str(FIXTURES / "dump.json"), "--db", db, "--json")
    report = json.loads(result.output)
    assert [o["status"] for o in report["outcomes"]] == ["added", "added"]


def test_articles_table_and_json(tmp_path):
    db = str(tmp_path / "c.db")
    run("ingest", str(FIXTURES / "feed.rss"), "--db", db)
    table = run("articles", "--db", db)
    assert "Kell Island Gazette" in table.output and "feed_summary_only" in table.output
    rows = json.loads(run("articles", "--db", db, "--json").output)
    assert {r["title"] for r in rows} == {"Divers resume search after ferry accident",
                                          "Ferry service suspended on Orvel crossing"}


def test_show_prints_text_and_removed(tmp_path):
    db = str(tmp_path / "c.db")
    run("ingest", str(FIXTURES / "boilerplate_cp1252.txt"), "--db", db)
    article_id = json.loads(run("articles", "--db", db, "--json").output)[0]["id"]
    shown = run("show", article_id[:8], "--db", db)
    assert "Investigators will examine" in shown.output
    assert "[related_teaser] Lakeside ports report record summer bookings" in shown.output


def test_show_unknown_id_is_a_clean_error(tmp_path):
    result = run("show", "zzz", "--db", str(tmp_path / "c.db"))
    assert result.exit_code == 4 and "storydesk articles" in result.output
    assert "Traceback" not in result.output


def test_bad_map_is_a_clean_error(tmp_path):
    result = run("ingest", str(FIXTURES / "dump.json"), "--map", "text", "--db", str(tmp_path / "c.db"))
    assert result.exit_code == 2 and "--map" in result.output


def test_brief_json_to_file(tmp_path):
    db, out = str(tmp_path / "c.db"), tmp_path / "out" / "b.json"
    run("ingest", str(FIXTURES / "page.html"), "--db", db)
    result = run("brief", "--format", "json", "-o", str(out), "--db", db)
    assert result.exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1 and len(doc["articles"]) == 1


def test_stdin(tmp_path):
    db = str(tmp_path / "c.db")
    result = run("ingest", "-", "--db", db, input="The lake ferry resumed service on Friday morning after the inquiry.")
    assert result.exit_code == 0 and "1 added" in result.output


def test_brief_since_summarises_only_newer_articles(tmp_path):
    db, out = str(tmp_path / "c.db"), tmp_path / "b.json"
    run("ingest", str(FIXTURES / "feed.rss"), str(FIXTURES / "feed.atom"), "--db", db)
    result = run("brief", "--since", "2024-05-14", "--format", "json", "-o", str(out), "--db", db)
    assert result.exit_code == 0
    doc = json.loads(out.read_text())
    newer = {a["id"] for a in doc["articles"] if a["published"][:10] > "2024-05-14"}
    cited = {c["article_id"] for s in doc["summary"] for c in s["citations"]}
    assert doc["summary"] and cited <= newer


def test_brief_each_writes_one_file_per_story(tmp_path):
    db = str(tmp_path / "c.db")
    run("ingest", str(FIXTURES / "feed.rss"), str(FIXTURES / "page.html"), "--db", db)
    result = run("brief", "--format", "json", "--each", str(tmp_path / "each"), "--db", db)
    assert result.exit_code == 0
    files = sorted((tmp_path / "each").glob("*.json"))
    stories = json.loads(files[0].read_text())["stories"]
    assert files and len(stories) == 1
    every = {aid for f in files for aid in json.loads(f.read_text())["stories"][0]["article_ids"]}
    assert len(every) == 3  # every article is in exactly one story's briefing
