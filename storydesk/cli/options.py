"""CLI options, declared once and shared by every command.

``--db`` is accepted before the subcommand (``storydesk --db x.db stories``) or after it
(``storydesk stories --db x.db``); after wins. Default: ``$STORYDESK_DB``, else ``./storydesk.db``.
"""
from __future__ import annotations

import os

import click

DEFAULT_DB = "storydesk.db"


def _remember_db(ctx: click.Context, _param, value):
    if value is not None:
        ctx.ensure_object(dict)["db"] = value
    return value


def resolve_db(value=None) -> str:
    """The store location: this command's --db, else the group's --db, else $STORYDESK_DB, else default."""
    if value:
        return value
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    if root is not None and isinstance(root.obj, dict) and root.obj.get("db"):
        return root.obj["db"]
    return os.environ.get("STORYDESK_DB", DEFAULT_DB)


# ``--db`` on a command; read it with :func:`open_db` or :func:`resolve_db` (which also see the group's).
db_option = click.option("--db", default=None, metavar="PATH",
                         help="Store: a SQLite file or a postgresql:// URL (default: $STORYDESK_DB or ./storydesk.db).")


group_db_option = click.option("--db", default=None, metavar="PATH", expose_value=False, is_eager=True,
                               callback=_remember_db, help="Store to use for the subcommand.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
story_option = click.option("--story", "story_id", default=None, help="Only this story (id or unique id prefix).")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars, only the summary.")
cluster_option = click.option("--cluster", metavar="ADDR",
                              help="Run on Dask: tcp://scheduler:8786, or local:N worker processes here.")
jobs_option = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None,
                           help="Worker processes for analysis (default: the number of cores).")


def open_db(value=None):
    """Open the store named by the options."""
    from ..store import open_store
    return open_store(resolve_db(value))
