"""Command-line interface. Thin: parse, call one library function, print.

Library errors (``StorydeskError``) become a message on stderr and their exit code.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import click

from . import __version__
from .errors import ConfigError, StorydeskError
from .store import open_store

DB_OPTION = click.option("--db", default=lambda: os.environ.get("STORYDESK_DB", "storydesk.db"),
                         show_default="./storydesk.db or $STORYDESK_DB", help="Store: a SQLite file or a postgresql:// URL.")
CLUSTER_OPTION = click.option("--cluster", metavar="ADDR",
                              help="Run on Dask: tcp://scheduler:8786, or local:N worker processes here.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


class Group(click.Group):
    """Turn named library errors into messages and exit codes."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StorydeskError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="storydesk")
def cli() -> None:
    """storydesk: evidence-linked briefings from piles of news articles."""


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@DB_OPTION
@click.option("--map", "mapping", help="JSON field names, e.g. text=story.body,outlet=publisher.name")
@click.option("--max-mb", default=25.0, show_default=True, help="Largest single-article file to accept.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, only the summary.")
@CLUSTER_OPTION
@JSON_OPTION
def ingest(inputs, db, mapping, max_mb, quiet, cluster, as_json) -> None:
    """Ingest files, folders (recursive), globs, or - for stdin."""
    from .cluster import open_executor
    from .ingest import ingest as run_ingest

    with open_store(db) as store, open_executor(cluster) as executor:
        report = run_ingest(inputs, store, field_map=parse_map(mapping), max_mb=max_mb,
                            progress=not quiet and sys.stderr.isatty(), executor=executor)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_ingest_summary(report)
    if report.failed:
        sys.exit(1)


def parse_map(mapping: Optional[str]) -> dict[str, str]:
    """``a=b,c=d.e`` into a dict; raise ConfigError when malformed."""
    if not mapping:
        return {}
    pairs = [p.split("=", 1) for p in mapping.split(",") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ConfigError(f"--map {mapping!r} is malformed; write field=source_field pairs separated by commas")
    return {k.strip(): v.strip() for k, v in pairs}


def _print_ingest_summary(report) -> None:
    added, present = report.count("added"), report.count("present")
    failed, skipped = report.count("failed"), report.count("skipped")
    for o in report.outcomes:
        if o.status in ("failed", "skipped"):
            click.secho(f"{o.status}: {o.path}: {o.reason}", fg="red" if o.status == "failed" else "yellow", err=True)
    click.echo(f"{added} added, {present} already present, {failed} failed, {skipped} skipped")


@cli.command()
@DB_OPTION
@JSON_OPTION
def articles(db, as_json) -> None:
    """List stored articles: id, outlet, published, title, words, flags."""
    with open_store(db) as store:
        items = store.articles()
    if as_json:
        keys = ("id", "outlet", "published", "published_basis", "title", "language", "wire")
        rows = [{**{k: getattr(a, k) for k in keys}, "words": a.words, "flags": [f.kind for f in a.flags]}
                for a in items]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    rows = [(a.id, a.outlet or "?", (a.published or "?")[:10] + _basis_mark(a.published_basis),
             (a.title or a.text[:60]).replace("\n", " "), str(a.words), ",".join(f.kind for f in a.flags))
            for a in items]
    print_table(("id", "outlet", "published", "title", "words", "flags"), rows)
    click.echo(f"{len(items)} article(s); published: * from text, ~ inferred, ? unknown")


def _basis_mark(basis: str) -> str:
    return {"text": "*", "inferred": "~"}.get(basis, "")


def print_table(headers, rows, widths=(18, 22, 12, 48, 6, 30)) -> None:
    """Print a fixed-width table, truncating long cells."""
    def cell(value, width):
        value = str(value)
        return (value[: width - 1] + "\u2026") if len(value) > width else value.ljust(width)
    click.echo("  ".join(cell(h, w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(cell(v, w) for v, w in zip(row, widths)).rstrip())


@cli.command()
@click.argument("article_id")
@DB_OPTION
@JSON_OPTION
def show(article_id, db, as_json) -> None:
    """Show an article: cleaned text, metadata, and what was removed and why."""
    with open_store(db) as store:
        article = store.get_article(article_id)
    if as_json:
        click.echo(json.dumps(article.to_dict(), indent=2, ensure_ascii=False))
        return
    for key in ("id", "title", "outlet", "authors", "wire", "published", "published_basis", "language"):
        click.echo(f"{key:>16}: {getattr(article, key)}")
    src = article.source
    click.echo(f"{'source':>16}: {src.format} {src.path or ''}{'#' + str(src.entry) if src.entry is not None else ''} {src.url or ''}")
    for flag in article.flags:
        click.secho(f"{'flag':>16}: {flag.kind}: {flag.detail}", fg="yellow")
    click.echo("\n" + article.text + "\n")
    click.secho(f"removed ({len(article.removed)}):", bold=True)
    for r in article.removed:
        click.echo(f"  [{r.reason}] {r.text[:150]}")


@cli.command()
@DB_OPTION
@click.option("--stages", help="Comma-separated stage names (default: all).")
@click.option("--force", is_flag=True, help="Re-run even if nothing changed.")
def analyze(db, stages, force) -> None:
    """Run the analysis stages over the stored articles."""
    from .briefing import analyse

    names = [s.strip() for s in stages.split(",")] if stages else None
    with open_store(db) as store:
        ran = analyse(store, names, force=force)
    click.echo("analysis done" if ran else "analysis is up to date (use --force to re-run)")


@cli.command()
@click.argument("story_id", required=False)
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@click.option("--since", help="Update mode: summarise only articles published after this ISO date (exclusive).")
@click.option("--each", "each_dir", type=click.Path(file_okay=False),
              help="Write one briefing per story into this folder instead.")
@click.option("--no-analyze", is_flag=True, help="Use the stored analysis as it is.")
def brief(story_id, db, fmt, output, since, each_dir, no_analyze) -> None:
    """Write the briefing for one story (or the whole store)."""
    from .briefing import analyse, build_briefing, render, update_summary, write_story_briefings

    with open_store(db) as store:
        if not no_analyze:
            analyse(store)
        if each_dir:
            for path in write_story_briefings(store, each_dir, fmt, since):
                click.echo(f"wrote {path}", err=True)
            return
        briefing = build_briefing(store, story_id)
    if since:
        briefing = update_summary(briefing, since)
    text = render(briefing, fmt)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


def _add_capability_commands() -> None:
    from .commands.people import entities_cmd, quotes_cmd
    from .commands.stories import provenance_cmd, stories_cmd

    for command in (stories_cmd, provenance_cmd, entities_cmd, quotes_cmd):
        cli.add_command(command)


_add_capability_commands()


def main() -> None:
    cli(prog_name="storydesk")


if __name__ == "__main__":
    main()
