"""CLI commands for who's who and who said what: ``entities`` and ``quotes``.

Thin: each parses options, calls one library function and prints. The lead
adds ``entities_cmd`` and ``quotes_cmd`` to the CLI group.
"""
from __future__ import annotations

import json
import os

import click

from ..store import open_store

_DB = click.option("--db", default=lambda: os.environ.get("STORYDESK_DB", "storydesk.db"),
                   show_default="./storydesk.db or $STORYDESK_DB", help="SQLite store to use.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
_STORY = click.option("--story", "story_id", default=None, help="Only this story (id or unique id prefix).")


@click.command("entities")
@_STORY
@_DB
@_JSON
def entities_cmd(story_id, db, as_json) -> None:
    """People, organisations and places, with their name variants and roles."""
    from ..entities import list_entities

    with open_store(db) as store:
        found = list_entities(store, story_id=story_id)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in found], indent=2, ensure_ascii=False))
        return
    for e in found:
        articles = len({m.article_id for m in e.mentions})
        line = f"{e.type:<6} {e.name}  ({len(e.mentions)} mentions in {articles} articles)"
        click.echo(line)
        if e.variants:
            click.echo(f"       also: {', '.join(e.variants[:8])}")
        if e.roles:
            click.echo(f"       roles: {'; '.join(e.roles[:4])}")
    click.echo(f"{len(found)} entities")


@click.command("quotes")
@click.option("--speaker", default=None, help="Only quotes whose speaker name contains this text.")
@_STORY
@_DB
@_JSON
def quotes_cmd(speaker, story_id, db, as_json) -> None:
    """Quotes with their speakers, and how other outlets quote the same words."""
    from ..quotes import list_quotes

    with open_store(db) as store:
        found = list_quotes(store, speaker=speaker, story_id=story_id)
    if as_json:
        click.echo(json.dumps([q.to_dict() for q in found], indent=2, ensure_ascii=False))
        return
    for q in found:
        who = q.speaker.text if q.speaker else "(no speaker found)"
        text = q.text if len(q.text) <= 160 else q.text[:157] + "..."
        click.echo(f"[{q.kind}] {who}{' ' + q.cue if q.cue else ''}: \u201c{text}\u201d  ({q.article_id} {q.span[0]}-{q.span[1]})")
        for m in q.matches:
            click.echo(f"    {m.relation} vs {m.quote_id}{': ' + m.diff if m.diff else ''}")
        for f in q.flags:
            if f.kind not in ("no_speaker",):
                click.echo(f"    flag {f.kind}: {f.detail}")
    click.echo(f"{len(found)} quotes")
