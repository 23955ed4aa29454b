"""CLI commands ``serve`` (the web app and API), ``search``, ``watch`` and ``unwatch``."""
from __future__ import annotations

import json
import threading

import click

from ..errors import ConfigError
from .options import db_option, json_option, open_db, resolve_db, story_option


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; others need --token-file.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token-file", type=click.Path(dir_okay=False), help="File holding the token clients must send.")
@click.option("--max-upload-mb", default=5.0, show_default=True, help="Largest uploaded file.")
@click.option("--watch-every", default="10m", show_default=True,
              help="How often watched sources are polled (30s, 10m, 1h; off: only when asked on /watch).")
def serve_cmd(db, host, port, token_file, max_upload_mb, watch_every) -> None:
    """Serve the stories, briefings, articles, search and an API at http://HOST:PORT."""
    from ..watch import parse_every
    from ..web.app import WebConfig, create_app
    from ..web.security import Limits, is_loopback, read_token_file

    every = None if watch_every.strip().lower() in ("off", "0", "never") else parse_every(watch_every)
    db = resolve_db(db)

    token = read_token_file(token_file)
    if not is_loopback(host) and token is None:
        raise ConfigError(f"--host {host} is reachable from the network; give --token-file FILE "
                          "(the token clients must send), or keep the default 127.0.0.1")
    import uvicorn

    app = create_app(WebConfig(db=db, token=token, limits=Limits(max_file_bytes=int(max_upload_mb * 1e6)),
                               watch_every=every))
    threading.Thread(target=_warm_up, args=(db,), daemon=True).start()
    from ..pgstore import _masked

    click.echo(f"storydesk: serving {_masked(db)} at http://{host}:{port}/" + (" (token required)" if token else ""), err=True)
    # A 10,000-character query must reach the app (and get its error), not be cut by the HTTP parser.
    uvicorn.run(app, host=host, port=port, log_level="warning", h11_max_incomplete_event_size=256 * 1024)


def _warm_up(db: str) -> None:
    """Load the sentence model and the search caches before the first search asks for them."""
    try:
        from ..models.embeddings import embed
        from ..search import warm
        embed(["warm up"])
        with open_db(db) as store:
            warm(store)
    except Exception:  # search falls back to keywords; the first query reports the problem
        pass


@click.command("search")
@click.argument("query")
@db_option
@story_option
@click.option("--outlet", help="Only this outlet.")
@click.option("--entity", help="Only articles naming this entity (id or name).")
@click.option("--from", "date_from", help="Published on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Published on or before (YYYY-MM-DD).")
@click.option("--mode", type=click.Choice(["hybrid", "fts", "vector"]), default="hybrid", show_default=True)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 500))
@json_option
def search_cmd(query, db, story_id, outlet, entity, date_from, date_to, mode, limit, as_json) -> None:
    """Search sentences: keywords (FTS5, bm25) fused with meaning (embeddings)."""
    from ..queries import find_story
    from ..search import Filters, search

    with open_db(db) as store:  # SQLite or a postgresql:// URL
        story = find_story(store, story_id).id if story_id else None
        hits = search(store, query, filters=Filters(story, outlet, entity, date_from, date_to), limit=limit, mode=mode)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    for n, h in enumerate(hits, 1):
        click.echo(f"{n:>3}. {h.article_id} [{h.span[0]}:{h.span[1]}]  {h.outlet or '?'}  {(h.published or '?')[:10]}")
        click.echo(f"     {' '.join(h.snippet.split())[:200]}")
    click.echo(f"{len(hits)} result(s)" + ("" if hits else "; if the store was analysed before search existed, "
                                           "run `storydesk analyze --force` to build the index"))


@click.command("watch")
@click.argument("sources", nargs=-1, required=True)
@db_option
@click.option("--every", default="10m", show_default=True, help="How often to poll (30s, 10m, 1h).")
@click.option("--once", is_flag=True, help="Poll once and exit.")
@click.option("--rate", default=2.0, show_default=True, help="Seconds between two requests to one host.")
@click.option("--timeout", default=15.0, show_default=True, help="Seconds to wait for a host's answer.")
@click.option("--no-analyze", is_flag=True, help="Only ingest; do not analyse what is new.")
def watch_cmd(sources, db, every, once, rate, timeout, no_analyze) -> None:
    """Follow feeds, page URLs and folders: ingest what is new, analyse it incrementally."""
    from ..briefing import analyse
    from ..watch import parse_every, watch

    seconds = parse_every(every)
    with open_db(db) as store:
        try:
            watch(store, list(sources), seconds, rounds=1 if once else None, on_poll=_print_poll,
                  min_interval=rate, timeout=timeout, analyse=None if no_analyze else (lambda s: analyse(s)))
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


def _print_poll(outcomes) -> None:
    for o in outcomes:
        extra = f" ({o.error})" if o.error else ""
        click.echo(f"{o.checked_at}  {o.status:<12} {len(o.added):>3} new  {o.source}{extra}")


@click.command("unwatch")
@click.argument("sources", nargs=-1, required=True)
@db_option
def unwatch_cmd(sources, db) -> None:
    """Stop following sources (as `storydesk watch` or the web app's /watch list them);
    the articles they brought stay in the store."""
    from ..sanitize import echo, line
    from ..watch import stop_watching

    with open_db(db) as store:
        stopped = stop_watching(store, sources)
    for s in stopped:
        echo(f"stopped watching {line(s.source)} ({s.added} article(s) it added stay in the store)")
