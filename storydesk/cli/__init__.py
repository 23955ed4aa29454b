"""Command-line interface. Thin: parse, call one library function, print.

The group (:data:`cli`) and :func:`main` live here with the article and analysis commands;
the other commands, one module per capability, sit beside it; the options every command
shares are declared once in :mod:`.options`.

Library errors (``StorydeskError``) become a message on stderr and their exit code.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click

from .. import __version__
from .options import (cluster_option, db_option, group_db_option, jobs_option, json_option, open_db,
                               quiet_option)
from ..errors import ConfigError, StorydeskError
from ..sanitize import echo, echo_json, secho
from .. import sanitize

class Group(click.Group):
    """Turn named library errors into messages and exit codes."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StorydeskError as exc:
            secho(f"error: {sanitize.line(exc)}", fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="storydesk")
@group_db_option
def cli() -> None:
    """storydesk: evidence-linked briefings from piles of news articles."""


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@db_option
@click.option("--map", "mapping", help="JSON field names, e.g. text=story.body,outlet=publisher.name")
@click.option("--max-mb", default=25.0, show_default=True, help="Largest single-article file to accept.")
@quiet_option
@cluster_option
@json_option
def ingest(inputs, db, mapping, max_mb, quiet, cluster, as_json) -> None:
    """Ingest files, folders (recursive), globs, or - for stdin."""
    from ..cluster import open_executor
    from ..ingest import ingest as run_ingest

    with open_db(db) as store, open_executor(cluster) as executor:
        report = run_ingest(inputs, store, field_map=parse_map(mapping), max_mb=max_mb,
                            progress=not quiet and sys.stderr.isatty(), executor=executor)
    if as_json:
        echo_json(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
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
            secho(f"{o.status}: {sanitize.path(o.path)}: {sanitize.line(o.reason)}",
                  fg="red" if o.status == "failed" else "yellow", err=True)
    echo(f"{added} added, {present} already present, {failed} failed, {skipped} skipped")


@cli.command()
@db_option
@json_option
def articles(db, as_json) -> None:
    """List stored articles: id, outlet, published, title, words, flags."""
    with open_db(db) as store:
        items = store.articles()
    if as_json:
        keys = ("id", "outlet", "published", "published_basis", "title", "language", "wire")
        rows = [{**{k: getattr(a, k) for k in keys}, "words": a.words, "flags": [f.kind for f in a.flags]}
                for a in items]
        echo_json(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    rows = [(a.id, a.outlet or "?", (a.published or "?")[:10] + _basis_mark(a.published_basis),
             (a.title or a.text[:60]).replace("\n", " "), str(a.words), ",".join(f.kind for f in a.flags))
            for a in items]
    print_table(("id", "outlet", "published", "title", "words", "flags"), rows)
    echo(f"{len(items)} article(s); published: * from text, ~ inferred, ? unknown")


def _basis_mark(basis: str) -> str:
    return {"text": "*", "inferred": "~"}.get(basis, "")


def print_table(headers, rows, widths=(18, 22, 12, 48, 6, 30)) -> None:
    """Print a fixed-width table, truncating long cells."""
    def cell(value, width):
        value = str(value)
        return (value[: width - 1] + "\u2026") if len(value) > width else value.ljust(width)
    echo("  ".join(cell(h, w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        echo("  ".join(cell(v, w) for v, w in zip(row, widths)).rstrip())


@cli.command()
@click.argument("article_id")
@db_option
@json_option
def show(article_id, db, as_json) -> None:
    """Show an article: cleaned text, metadata, and what was removed and why."""
    with open_db(db) as store:
        article = store.get_article(article_id)
    if as_json:
        echo_json(json.dumps(article.to_dict(), indent=2, ensure_ascii=False))
        return
    for key in ("id", "title", "outlet", "authors", "wire", "published", "published_basis", "language"):
        echo(f"{key:>16}: {sanitize.line(getattr(article, key))}")
    src = article.source
    echo(f"{'source':>16}: {src.format} {src.path or ''}{'#' + str(src.entry) if src.entry is not None else ''} {src.url or ''}")
    for flag in article.flags:
        secho(f"{'flag':>16}: {flag.kind}: {flag.detail}", fg="yellow")
    echo("\n" + article.text + "\n")
    secho(f"removed ({len(article.removed)}):", bold=True)
    for r in article.removed:
        echo(f"  [{r.reason}] {sanitize.line(r.text[:150])}")


@cli.command()
@db_option
@click.option("--stages", help="Comma-separated stage names (default: all).")
@click.option("--force", is_flag=True, help="Redo everything: per-article work and every story.")
@jobs_option
@quiet_option
@cluster_option
def analyze(db, stages, force, jobs, quiet, cluster) -> None:
    """Analyse what is new: per-article work once, then only the stories that changed."""
    from ..briefing import analyse

    names = [s.strip() for s in stages.split(",")] if stages else None
    from ..cluster import open_executor

    with open_db(db) as store, open_executor(cluster) as executor:
        report = analyse(store, names, force=force, jobs=jobs, progress=False if quiet else None,
                         executor=executor)
    _print_run(report)
    if report.errors:
        sys.exit(3)


def _print_run(report) -> None:
    for err in report.errors:
        secho(f"analysis error: {err.describe()}", fg="red", err=True)
    if not report.did_anything:
        echo("analysis is up to date (use --force to redo it)")
        return
    failed = f", {len(report.errors)} failure(s) flagged (the rest is stored)" if report.errors else ""
    echo(f"analysed: {report.worked} article(s) parsed, {report.new_articles} new in stories, "
         f"{report.stories_run} of {report.stories} stories updated in {report.wall:.1f} s "
         f"({report.cpu:.1f} CPU-s in this process){failed}")


@cli.command()
@click.argument("story_id", required=False)
@db_option
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@click.option("--since", help="Update mode: summarise only articles published after this ISO date (exclusive).")
@click.option("--each", "each_dir", type=click.Path(file_okay=False),
              help="Write one briefing per story into this folder instead.")
@click.option("--no-analyze", is_flag=True, help="Use the stored analysis as it is.")
@jobs_option
@quiet_option
def brief(story_id, db, fmt, output, since, each_dir, no_analyze, jobs, quiet) -> None:
    """Write the briefing for one story (or the whole store); analyses what is missing first."""
    from ..briefing import analyse, build_briefing, render, update_summary, write_story_briefings

    with open_db(db) as store:
        if not no_analyze:
            report = analyse(store, jobs=jobs, progress=False if quiet else None)
            if report.did_anything and not quiet:
                click.echo(f"analysed what was missing: {report.stories_run} stor(ies) updated", err=True)
        if each_dir:
            for path in write_story_briefings(store, each_dir, fmt, since):
                echo(f"wrote {path}", err=True)
            return
        briefing = build_briefing(store, story_id)
    if since:
        briefing = update_summary(briefing, since)
    text = render(briefing, fmt)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
        echo(f"wrote {output}", err=True)
    elif fmt == "json":
        echo_json(text)
    else:
        echo(text)


def _add_capability_commands() -> None:
    from .people import entities_cmd, quotes_cmd
    from .serve import search_cmd, serve_cmd, unwatch_cmd, watch_cmd
    from .stories import provenance_cmd, stories_cmd

    for command in (stories_cmd, provenance_cmd, entities_cmd, quotes_cmd, serve_cmd, search_cmd, watch_cmd,
                    unwatch_cmd):
        cli.add_command(command)


_add_capability_commands()


def main() -> None:
    cli(prog_name="storydesk")

