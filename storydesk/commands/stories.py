"""CLI commands ``stories`` and ``provenance STORY_ID`` (the lead adds them to the group)."""
from __future__ import annotations

import json
import os

import click

from ..store import open_store

_DB = click.option("--db", default=lambda: os.environ.get("STORYDESK_DB", "storydesk.db"),
                   show_default="./storydesk.db or $STORYDESK_DB", help="SQLite store to use.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.command("stories")
@_DB
@_JSON
@click.option("--recluster", is_flag=True, help="Forget the stored stories and cluster every article again.")
def stories_cmd(db, as_json, recluster) -> None:
    """List stories: id, articles, first/last seen, label (assigns new articles first)."""
    from ..stories import recluster as run_recluster, refresh_stories

    with open_store(db) as store:
        items = run_recluster(store) if recluster else refresh_stories(store)
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in items], indent=2, ensure_ascii=False))
        return
    for s in items:
        seen = f"{(s.first_seen or '?')[:10]}..{(s.last_seen or '?')[:10]}"
        click.echo(f"{s.id}  {len(s.article_ids):>4} article(s)  {seen:22}  {s.label}")
    click.echo(f"{len(items)} stor{'y' if len(items) == 1 else 'ies'}")


@click.command("provenance")
@click.argument("story_id")
@_DB
@_JSON
def provenance_cmd(story_id, db, as_json) -> None:
    """Show which article reuses which in a story, how much, with aligned sentences side by side."""
    from ..provenance import story_provenance

    with open_store(db) as store:
        report = story_provenance(store, story_id)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    story = report["story"]
    click.secho(f"{story['id']}  {story['label']}", bold=True)
    click.echo(f"{len(story['article_ids'])} article(s), {len(report['source_groups'])} independent source group(s)")
    for g in report["source_groups"]:
        click.echo(f"  group of {len(g['article_ids'])}, origin {g['origin_id']}: {', '.join(g['article_ids'])}")
    if not report["reuse"]:
        click.echo("no reuse found: every article reads as independent reporting")
    for r in report["reuse"]:
        click.secho(f"\n{r['derived_id']} <- {r['source_id']}: {r['kind']}, coverage {r['coverage']:.0%}, "
                    f"direction by {r['direction_basis']}", bold=True)
        for pair in r["pairs"]:
            click.echo(f"  [{pair['similarity']:.2f}] source : {pair['source_text']}")
            click.echo(f"         derived: {pair['derived_text']}")
