"""CLI commands ``stories`` and ``provenance STORY_ID``: they read what ``analyze`` stored."""
from __future__ import annotations

import json
from collections import Counter

import click

from .options import db_option, json_option, open_db
from ..sanitize import echo, echo_json

_REUSE_WORDS = {"duplicate": "duplicate", "verbatim": "verbatim copy", "near_verbatim": "near-verbatim copy",
                "paraphrase": "rewrite"}
_PLURAL = {"verbatim copy": "verbatim copies", "near-verbatim copy": "near-verbatim copies"}


@click.command("stories")
@db_option
@json_option
@click.option("--recluster", is_flag=True, help="Forget the stored stories and cluster every article again.")
def stories_cmd(db, as_json, recluster) -> None:
    """List the analysed stories: id, articles, dates, label.

    Dates are those of the briefing: stated dates flagged as not fitting the content are left out.
    """
    from ..queries import stories
    from ..analysis.stories import recluster as run_recluster

    with open_db(db) as store:
        items = run_recluster(store) if recluster else stories(store)
        by_id = {a.id: a for a in store.articles([i for s in items for i in s.article_ids])}
    dates = {s.id: _range(s, by_id) for s in items}
    if as_json:
        rows = [{**s.to_dict(), "first_date": dates[s.id][0], "last_date": dates[s.id][1]} for s in items]
        echo_json(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for s in items:
        first, last = dates[s.id]
        seen = f"{first or '?'}..{last or '?'}"
        echo(f"{s.id}  {len(s.article_ids):>4} article(s)  {seen:22}  {s.label}")
    echo(f"{len(items)} stor{'y' if len(items) == 1 else 'ies'}")


def _range(story, by_id) -> tuple:
    from ..analysis.story_dates import story_range

    first, last = story_range([by_id[i] for i in story.article_ids if i in by_id], story)
    return (first.isoformat() if first else None, last.isoformat() if last else None)


@click.command("provenance")
@click.argument("story_id")
@db_option
@json_option
@click.option("--pairs", is_flag=True, help="Also print the aligned sentences of every reuse, side by side.")
def provenance_cmd(story_id, db, as_json, pairs) -> None:
    """Who reuses whom in a story: a summary, the independent sources and their copies (--pairs: aligned sentences)."""
    from ..analysis.provenance import story_provenance

    with open_db(db) as store:
        report = story_provenance(store, story_id)
        by_id = {a.id: a for a in store.articles(report["story"]["article_ids"])}
    if as_json:
        echo_json(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for line in provenance_lines(report, by_id, pairs):
        echo(line)


def provenance_lines(report: dict, by_id: dict, pairs: bool = False) -> list[str]:
    """The provenance report as text: summary first, then each source group with its reuse."""
    from ..render import display_title, fmt_date, fmt_range, source_name
    from ..analysis.story_dates import story_range

    story, reuse, groups = report["story"], report["reuse"], report["source_groups"]
    ids = story["article_ids"]

    def who(aid: str) -> str:
        a = by_id.get(aid)
        if a is None:
            return aid
        when = fmt_date(a.published) if a.published else "undated"
        if a.has_flag("date_mismatch"):
            when = f"stated {when}, which does not fit the content"
        return f"{source_name(a)}, \u201c{display_title(a) or '(no headline)'}\u201d ({when}) [{aid}]"

    kinds = Counter(_REUSE_WORDS.get(r["kind"], r["kind"]) for r in reuse)
    first, last = story_range([by_id[i] for i in ids if i in by_id])
    out = [f"{story['id']}  {story['label']}",
           f"{len(ids)} article(s), {len(groups)} independent source(s), {fmt_range(first, last)}; "
           + (f"{len(reuse)} reuse link(s): " + ", ".join(f"{n} {k if n == 1 else _PLURAL.get(k, k + 's')}"
                                                   for k, n in kinds.most_common())
              if reuse else "no reuse found: every article reads as independent reporting")]
    reuse_of = {r["derived_id"]: r for r in reuse}
    for n, g in enumerate(sorted(groups, key=lambda g: -len(g["article_ids"])), 1):
        out.append(f"\n{n}. {who(g['origin_id'])}" + ("" if len(g["article_ids"]) == 1 else
                                                      f"  \u2014 origin of {len(g['article_ids']) - 1}"))
        for aid in g["article_ids"]:
            if aid == g["origin_id"]:
                continue
            r = reuse_of.get(aid)
            how = (f"{_REUSE_WORDS.get(r['kind'], r['kind'])} of {_short(r['source_id'], by_id)}, "
                   f"{r['coverage']:.0%} of sentences, direction by {r['direction_basis'].replace('_', ' ')}"
                   if r else "shares this origin")
            out.append(f"   <- {who(aid)}: {how}")
    if reuse and not pairs:
        out.append("\n(add --pairs to see the aligned sentences of each reuse side by side)")
    for r in reuse if pairs else []:
        out.append(f"\n{_short(r['derived_id'], by_id)} <- {_short(r['source_id'], by_id)}: "
                   f"{_REUSE_WORDS.get(r['kind'], r['kind'])}, {r['coverage']:.0%}")
        for pair in r["pairs"]:
            out.append(f"  [{pair['similarity']:.2f}] source : {pair['source_text']}")
            out.append(f"         derived: {pair['derived_text']}")
    return out


def _short(aid: str, by_id: dict) -> str:
    from ..render import source_name

    a = by_id.get(aid)
    return f"{source_name(a)} [{aid}]" if a else aid
