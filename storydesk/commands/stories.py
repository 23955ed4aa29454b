"""CLI commands ``stories`` and ``provenance STORY_ID``: they read what ``analyze`` stored."""
from __future__ import annotations

import json

import click

from .options import db_option as _DB, json_option as _JSON, open_db
from ..sanitize import echo, echo_json, secho


@click.command("stories")
@_DB
@_JSON
@click.option("--recluster", is_flag=True, help="Forget the stored stories and cluster every article again.")
def stories_cmd(db, as_json, recluster) -> None:
    """List the analysed stories: id, articles, first/last seen, label."""
    from ..queries import stories
    from ..stories import recluster as run_recluster

    with open_db(db) as store:
        items = run_recluster(store) if recluster else stories(store)
    if as_json:
        echo_json(json.dumps([s.to_dict() for s in items], indent=2, ensure_ascii=False))
        return
    for s in items:
        seen = f"{(s.first_seen or '?')[:10]}..{(s.last_seen or '?')[:10]}"
        echo(f"{s.id}  {len(s.article_ids):>4} article(s)  {seen:22}  {s.label}")
    echo(f"{len(items)} stor{'y' if len(items) == 1 else 'ies'}")


@click.command("provenance")
@click.argument("story_id")
@_DB
@_JSON
def provenance_cmd(story_id, db, as_json) -> None:
    """Show which article reuses which in a story, how much, with aligned sentences side by side."""
    from ..provenance import story_provenance

    with open_db(db) as store:
        report = story_provenance(store, story_id)
    if as_json:
        echo_json(json.dumps(report, indent=2, ensure_ascii=False))
        return
    story = report["story"]
    secho(f"{story['id']}  {story['label']}", bold=True)
    echo(f"{len(story['article_ids'])} article(s), {len(report['source_groups'])} independent source group(s)")
    for g in report["source_groups"]:
        echo(f"  group of {len(g['article_ids'])}, origin {g['origin_id']}: {', '.join(g['article_ids'])}")
    if not report["reuse"]:
        echo("no reuse found: every article reads as independent reporting")
    for r in report["reuse"]:
        secho(f"\n{r['derived_id']} <- {r['source_id']}: {r['kind']}, coverage {r['coverage']:.0%}, "
                    f"direction by {r['direction_basis']}", bold=True)
        for pair in r["pairs"]:
            echo(f"  [{pair['similarity']:.2f}] source : {pair['source_text']}")
            echo(f"         derived: {pair['derived_text']}")
