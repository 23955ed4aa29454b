"""CLI commands for who's who and who said what: ``entities`` and ``quotes``.

Thin: each parses options, calls one library function and prints; :mod:`storydesk.cli`
adds ``entities_cmd`` and ``quotes_cmd`` to the CLI group.
"""
from __future__ import annotations

import json

import click

from .options import db_option, json_option, open_db, story_option
from ..sanitize import echo, echo_json


@click.command("entities")
@story_option
@db_option
@json_option
def entities_cmd(story_id, db, as_json) -> None:
    """People, organisations and places, with their name variants and roles."""
    from ..queries import entities

    with open_db(db) as store:
        found = entities(store, story_id=story_id)
    if as_json:
        echo_json(json.dumps([e.to_dict() for e in found], indent=2, ensure_ascii=False))
        return
    for e in found:
        articles = len({m.article_id for m in e.mentions})
        line = f"{e.type:<6} {e.name}  ({len(e.mentions)} mentions in {articles} articles)"
        echo(line)
        if e.variants:
            echo(f"       also: {', '.join(e.variants[:8])}")
        if e.roles:
            echo(f"       roles: {'; '.join(e.roles[:4])}")
    echo(f"{len(found)} entities")


@click.command("quotes")
@click.option("--speaker", default=None, help="Only quotes whose speaker name contains this text.")
@story_option
@db_option
@json_option
def quotes_cmd(speaker, story_id, db, as_json) -> None:
    """Quotes with their speakers, and how other outlets quote the same words."""
    from ..queries import quotes

    with open_db(db) as store:
        found = quotes(store, speaker=speaker, story_id=story_id)
    if as_json:
        echo_json(json.dumps([q.to_dict() for q in found], indent=2, ensure_ascii=False))
        return
    for q in found:
        who = q.speaker.text if q.speaker else "(no speaker found)"
        text = q.text if len(q.text) <= 160 else q.text[:157] + "..."
        # Reported speech is the reporter's wording: never shown inside quotation marks.
        shown = text if q.kind == "indirect" else f"\u201c{text}\u201d"
        echo(f"[{q.kind}] {who}{' ' + q.cue if q.cue else ''}: {shown}  ({q.article_id} {q.span[0]}-{q.span[1]})")
        for m in q.matches:
            echo(f"    {m.relation} vs {m.quote_id}{': ' + m.diff if m.diff else ''}")
        for f in q.flags:
            if f.kind not in ("no_speaker",):
                echo(f"    flag {f.kind}: {f.detail}")
    echo(f"{len(found)} quotes")
