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


def test_provenance_lines_summary_first_titles_outlets_and_pairs_on_request():
    import briefing_sample as sample
    from storydesk.cli.stories import provenance_lines

    b = sample.briefing()
    wire, copy = b.articles[0], b.articles[1]
    r = b.reuse[0]
    report = {"story": b.stories[0].to_dict(),
              "reuse": [{**{k: v for k, v in r.to_dict().items() if k != "alignments"},
                         "pairs": [{"similarity": 0.97, "source_span": [0, 10], "derived_span": [0, 10],
                                    "source_text": "The Tessaly dam", "derived_text": "The Tessaly dam"}]}],
               "source_groups": [g.to_dict() for g in b.source_groups]}
    by_id = {a.id: a for a in b.articles}
    lines = provenance_lines(report, by_id)
    assert lines[0].startswith(b.stories[0].id)
    assert "5 article(s), 4 independent source(s)" in lines[1] and "1 near-verbatim copy" in lines[1]
    text = "\n".join(lines)
    assert f"Harbor Wire, \u201c{wire.title}\u201d" in text and "Daily Lantern" in text
    assert "does not fit the content" in text  # the copy's stated date is flagged
    assert "source :" not in text and "--pairs" in text
    paired = "\n".join(provenance_lines(report, by_id, pairs=True))
    assert "source : The Tessaly dam" in paired and "derived: The Tessaly dam" in paired
    assert len(paired.splitlines()) > len(lines)


def test_story_dates_leave_out_a_flagged_stated_date():
    import briefing_sample as sample
    from storydesk.analysis.story_dates import story_range

    b = sample.briefing()  # the copy states 2031-09-02, flagged as not fitting the content
    first, last = story_range(b.articles, b.stories[0])
    assert (first.isoformat(), last.isoformat()) == ("2031-03-15", "2031-03-18")
    flagged = [a for a in b.articles if a.has_flag("date_mismatch")]
    assert story_range(flagged, b.stories[0]) == (None, None)  # never the flagged date itself
    assert story_range([], b.stories[0])[0].isoformat() == "2031-03-15"  # the index's own dates, no articles


def test_db_before_or_after_the_subcommand(tmp_path):
    db = str(tmp_path / "c.db")
    run("ingest", str(FIXTURES / "feed.rss"), "--db", db)
    outputs = [run(*args).output for args in (["--db", db, "articles", "--json"], ["articles", "--json", "--db", db],
                                              ["--db", str(tmp_path / "other.db"), "articles", "--json", "--db", db])]
    assert len(json.loads(outputs[0])) == 2 and outputs[1] == outputs[0] == outputs[2]  # after the command wins
    assert not (tmp_path / "other.db").exists()


def _declared(option) -> dict:
    param = option(lambda: None).__click_params__[0]
    return {"opts": param.opts, "help": param.help, "dest": param.name}


def test_shared_options_are_declared_once():
    from storydesk.cli import options

    shared = {o: _declared(d) for d in (options.db_option, options.json_option, options.story_option,
                                        options.quiet_option, options.jobs_option, options.cluster_option)
              for o in _declared(d)["opts"]}
    seen = set()
    for name, command in cli.commands.items():
        assert "--db" in {o for p in command.params for o in p.opts}, f"{name} takes no --db"
        for param in command.params:
            for opt in param.opts:
                if opt in shared:
                    seen.add(opt)
                    assert {"opts": param.opts, "help": param.help, "dest": param.name} == shared[opt], (name, opt)
    assert {"--db", "--json", "--story", "--quiet", "--jobs", "--cluster"} <= seen


def test_search_story_is_resolved_like_every_other_story_option(tmp_path):
    db = str(tmp_path / "c.db")
    run("ingest", str(FIXTURES / "feed.rss"), "--db", db)
    result = CliRunner().invoke(cli, ["search", "ferry", "--db", db, "--story", "zz"])
    assert result.exit_code == 4 and "no story matches id 'zz'" in result.output
