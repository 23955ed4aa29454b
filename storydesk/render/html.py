"""The briefing as one self-contained HTML page (inline CSS and SVG, no script, no network).

Every piece of article-derived text goes through :func:`esc`; the only markup
in the page is the renderer's own. A citation number opens the exact cited words
on tap, click or keyboard (a checkbox toggle styled by CSS), with a link to the
source's row in the sources table.
"""
from __future__ import annotations

import datetime as dt
import functools
import html
import itertools
from importlib import resources
from typing import Iterable, Optional
from urllib.parse import urlparse

from ..records import Briefing, Citation, Flag, Quote, SummarySentence
from . import (MAX_ACTORS, MAX_CLAIMS, MAX_NAMED, MAX_QUOTES, RELATION_LABELS, QuoteCluster, View, actors, build_view,
               claim_label, display_title, disputed_pairs, event_text, flag_label, flag_level, fmt_date, fmt_stamp, key_facts, legend,
               narration_citation, quote_clusters, reuse_text, speaker_text, split_stories, story_label,
               timeline_sections, word_diff)

TYPE_LABELS = {"PERSON": "Person", "ORG": "Organisation", "GPE": "Place", "LOC": "Place", "NORP": "Group",
               "FAC": "Facility", "EVENT": "Event"}


def esc(value) -> str:
    """HTML-escape any value (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


@functools.lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files("storydesk.render").joinpath("briefing.css").read_text(encoding="utf-8")


SECTIONS = (("summary", "Summary"), ("timeline", "Timeline"), ("actors", "Actors"), ("quotes", "Quotes"),
            ("disputed", "Disputed facts"), ("facts", "Key facts"), ("sources", "Sources"))


def render_html(briefing: Briefing) -> str:
    """Render ``briefing`` as a complete, self-contained HTML document.

    Several stories become a table of contents followed by one part per story, each with its own
    sections and sources (the numbers restart in every story).
    """
    view = build_view(briefing)
    if len(briefing.stories) > 1:
        parts = [build_view(b, prefix=f"s{k}-") for k, b in enumerate(split_stories(briefing), 1)]
        nav = '<nav class="toc" aria-label="Stories"><a href="#legend">What the badges mean</a></nav>'
        body = _contents(parts) + "\n" + "\n".join(_story(k, v) for k, v in enumerate(parts, 1))
        notes = ""
    else:
        present = sections(view)
        nav = '<nav class="toc" aria-label="Sections">' + " ".join(
            f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in present) + ' <a href="#legend">Badges</a></nav>'
        body = "\n".join(f'<section id="{a}">\n<h2>{esc(t)}</h2>\n{b}\n</section>' for a, t, b in present)
        notes = _notes(view)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="storydesk">
<title>{esc(view.label)} \u2014 briefing</title>
<style>
{stylesheet()}
</style>
</head>
<body>
<main>
{_header(view)}
{nav}
{notes}
{body}
{_legend(briefing)}
{_footer(view)}
</main>
</body>
</html>
"""


def sections(view: View) -> list[tuple[str, str, str]]:
    """``(anchor, title, html)`` of every non-empty section; the web story page lays out the same."""
    built = {"summary": _summary, "timeline": _timeline, "actors": _actors, "quotes": _quotes,
             "disputed": _disputed, "facts": _facts, "sources": _sources}
    out = [(view.anchor(a), t, built[a](view)) for a, t in SECTIONS]
    return [(a, t, b) for a, t, b in out if b]


def _contents(parts: list[View]) -> str:
    """The table of contents: one line per story with its dates, size and lead sentence."""
    items = []
    for k, v in enumerate(parts, 1):
        lead = v.briefing.summary[0].text if v.briefing.summary else ""
        lead = f'<p class="toc-lead">{esc(lead)}</p>' if lead else ""
        items.append(f'<li><a href="#story-{k}">{esc(story_label(v.briefing))}</a>'
                     f'<p class="facts">{_facts_line(v)}</p>{lead}</li>')
    return ('<section id="contents">\n<h2>Stories</h2>\n<ol class="stories">\n' + "\n".join(items)
            + "\n</ol>\n</section>")


def _facts_line(view: View) -> str:
    sources = f"{view.n_sources} independent source{'' if view.n_sources == 1 else 's'}"
    articles = f"{view.n_articles} article{'' if view.n_articles == 1 else 's'}"
    return f"<span>{esc(view.date_range)}</span><span>{articles}</span><span>{sources}</span>"


def _story(k: int, view: View) -> str:
    present = sections(view)
    nav = " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in present)
    body = "\n".join(f'<section id="{a}">\n<h3 class="sec">{esc(t)}</h3>\n{b}\n</section>' for a, t, b in present)
    return (f'<article class="story" id="story-{k}">\n<h2 class="story-title"><span class="story-num">{k}</span>'
            f'{esc(story_label(view.briefing))}</h2>\n<p class="facts">{_facts_line(view)}</p>\n'
            f'<nav class="toc" aria-label="Sections of story {k}">{nav} <a href="#contents">All stories</a></nav>\n'
            f'{_notes(view)}\n{body}\n</article>')


def _legend(briefing: Briefing) -> str:
    rows = "\n".join(f"<dt>{_badge_word(word)}</dt><dd>{esc(meaning)}</dd>" for word, meaning in legend(briefing))
    return (f'<section id="legend">\n<h2>What the badges mean</h2>\n<dl class="legend">\n{rows}\n</dl>\n'
            '<p class="more">Tap or click a citation number to read the cited words; the link inside opens the '
            'source in the sources table.</p>\n</section>')


def _badge_word(word: str) -> str:
    return f'<span class="badge info">{esc(word)}</span>'


# --------------------------------------------------------------------------- pieces
def _header(view: View) -> str:
    b = view.briefing
    label = "Briefing" if len(b.stories) <= 1 else f"Briefing \u00b7 {len(b.stories)} stories"
    return (f'<header class="masthead">\n<p class="kicker">{esc(label)}</p>\n<h1>{esc(view.label)}</h1>\n'
            f'<p class="facts">{_facts_line(view)}</p>\n</header>')


def _notes(view: View) -> str:
    if not view.notes:
        return ""
    items = "\n".join(f"<li>{esc(n)}</li>" for n in view.notes)
    return f'<aside class="notes" aria-label="Evidence notes">\n<h2>Read with care</h2>\n<ul>\n{items}\n</ul>\n</aside>'


_CITE_IDS = itertools.count(1)


def _cites(view: View, citations: Iterable[Citation]) -> str:
    """Superscript citation numbers. A tap, click or Enter opens the cited words (a checkbox toggle, so
    no hover and no script is needed); the link inside goes to the source's row."""
    parts = []
    for n, c in view.cite_numbers(list(citations)):
        art = view.articles[c.article_id]
        when = fmt_date(art.published) if art.published else "undated"
        toggle = f"c{next(_CITE_IDS)}"
        src = view.anchor(f"src-{n}")
        tip = (f'<span class="tip" role="note"><a class="tip-src" href="{esc(view.cite_href(c)) if view.cite_href else '#' + src}">[{n}] {esc(view.outlet(art.id))}'
               f' \u00b7 {esc(when)}</a><span class="tip-text">{_in_context(view, c)}</span></span>')
        parts.append(f'<span class="cite"><input type="checkbox" class="cite-open" id="{toggle}">'
                     f'<label for="{toggle}" title="source {n}: show the cited words">{n}</label>{tip}</span>')
    return f'<sup class="cites">{"".join(parts)}</sup>' if parts else ""


def _in_context(view: View, citation: Citation) -> str:
    """The cited words, marked inside their sentence when they are only part of it."""
    before, span, after = view.span_context(citation)
    if not before.strip() and not after.strip():
        return esc(span)
    return f"{esc(before)}<mark>{esc(span)}</mark>{esc(after)}"


def _badges(flags: Iterable[Flag], skip: tuple[str, ...] = ()) -> str:
    out = []
    for f in flags:
        if f.kind in skip:
            continue
        title = f' title="{esc(f.detail)}"' if f.detail else ""
        out.append(f'<span class="badge {flag_level(f)}"{title}>{esc(flag_label(f))}</span>')
    return " ".join(out)


def _summary(view: View) -> str:
    sentences: list[SummarySentence] = view.briefing.summary
    if not sentences:
        return ('<p class="empty">No summary: the analysis has not produced one yet, or no sentence '
                'could be supported by the articles.</p>') if view.briefing.articles else ""
    items = []
    for s in sentences:
        single = any(f.kind == "single_source" for f in s.flags)
        n_ind = view.independent(s.citations)
        support = (f'<span class="support">{n_ind} independent source{"" if n_ind == 1 else "s"}</span>'
                   if not single and n_ind > 1 else "")
        cls = ' class="single"' if single else ""
        items.append(f"<li{cls}><p>{esc(s.text)}{_cites(view, s.citations)} {_badges(s.flags)}{support}</p></li>")
    return '<ol class="summary">\n' + "\n".join(items) + "\n</ol>"


# --------------------------------------------------------------------------- timeline
def _timeline(view: View) -> str:
    dated, background, undated = timeline_sections(view.briefing)
    if not dated and not undated:
        return ""
    parts = []
    if dated:
        parts.append(_timeline_svg(dated, view.prefix))
        items = []
        for k, (e, (first, _, precision)) in enumerate(dated, 1):
            items.append(f'<li id="{view.anchor(f"ev-{k}")}"><div class="when"><span class="evnum">{k}</span>'
                         f'{_when(e.date, first, precision)}</div>'
                         f'<p class="what">{esc(event_text(e))}{_cites(view, e.citations)}</p></li>')
        parts.append('<ol class="events">\n' + "\n".join(items) + "\n</ol>")
    if background:
        items = [f'<li><div class="when">{_when(e.date, first, precision)}</div>'
                 f'<p class="what">{esc(event_text(e))}{_cites(view, e.citations)}</p></li>'
                 for e, (first, _, precision) in background]
        parts.append('<h4 class="background">Earlier background</h4>\n<ul class="events background">\n'
                     + "\n".join(items) + "\n</ul>")
    if undated:
        items = [f'<li><p class="what">{esc(event_text(e))}{_cites(view, e.citations)}</p></li>' for e in undated]
        parts.append('<h4 class="undated">Undated events <span class="badge warn">date unknown</span></h4>\n'
                     '<ul class="events undated">\n' + "\n".join(items) + "\n</ul>")
    return "\n".join(parts)


def _when(date: str, first, precision: str) -> str:
    approx = f' <span class="precision">{esc(precision)}</span>' if precision != "day" else ""
    return f'<time datetime="{esc(first.isoformat())}">{esc(fmt_date(date))}</time>{approx}'


class _Scale:
    """Date -> x for the overview. Long empty stretches are cut to a fixed break; inside a run,
    busy days get more room than quiet ones (the axis stays in order and every tick is labelled)."""

    GAP = 46  # width of a cut
    MIN_RUN = 70  # narrowest run
    FOCUS = 4.0  # extra room per event on its day

    def __init__(self, intervals: list[tuple[dt.date, dt.date]], left: float, right: float):
        ivs = sorted(intervals)
        total = (max(e for _, e in ivs) - ivs[0][0]).days + 1
        cut = max(10, 0.2 * total)
        runs = [[ivs[0][0], ivs[0][1]]]
        for first, last in ivs[1:]:
            if (first - runs[-1][1]).days > cut:
                runs.append([first, last])
            else:
                runs[-1][1] = max(runs[-1][1], last)
        pad = dt.timedelta(days=1)
        self.runs = [(a - pad, b + pad) for a, b in runs]
        busy: dict[dt.date, int] = {}
        for first, _ in ivs:
            busy[first] = busy.get(first, 0) + 1
        self.cum = []  # per run: cumulative day weights, so x follows how much happens
        for a, b in self.runs:
            weights = [1.0 + self.FOCUS * busy.get(a + dt.timedelta(days=k), 0) for k in range((b - a).days + 1)]
            self.cum.append([0.0] + list(itertools.accumulate(weights)))
        events = [sum(1 for f, _ in ivs if a <= f <= b) for a, b in self.runs]
        avail = right - left - self.GAP * (len(self.runs) - 1)
        widths = [max(self.MIN_RUN, avail * (n + 1) / (sum(events) + len(events))) for n in events]
        shrink = min(1.0, avail / sum(widths))
        self.widths = [w * shrink for w in widths]
        self.starts, x = [], left
        for w in self.widths:
            self.starts.append(x)
            x += w + self.GAP

    def x(self, day: dt.date, fraction: float = 0.0) -> float:
        """Position of ``day`` (plus ``fraction`` of that day)."""
        for (a, b), x0, w, cum in zip(self.runs, self.starts, self.widths, self.cum):
            if a <= day <= b:
                k = (day - a).days
                return x0 + w * (cum[k] + fraction * (cum[k + 1] - cum[k])) / cum[-1]
        return self.starts[0] if day < self.runs[0][0] else self.starts[-1] + self.widths[-1]

    def gaps(self) -> list[tuple[float, str]]:
        """(centre x, length in words) of each cut."""
        out = []
        for (_, b), (a, _), x0, w in zip(self.runs, self.runs[1:], self.starts, self.widths):
            out.append((x0 + w + self.GAP / 2, _duration((a - b).days)))
        return out

    def ticks(self, spacing: float = 58) -> list[tuple[float, str]]:
        """(x, label) of ticks at least ``spacing`` px apart; the year on each run's first tick.

        Day ticks sit mid-day, where that day's markers are; month and year ticks at their start.
        """
        out, last_year = [], None
        for a, b in self.runs:
            kept: list[tuple[float, dt.date, str]] = []
            for day, label, fraction in _candidate_ticks(a, b):
                x = self.x(day, fraction)
                if kept and x - kept[-1][0] < spacing:
                    continue
                if not kept and day.year != last_year and not label.isdigit():
                    label += f" {day.year}"
                kept.append((x, day, label))
            if kept:
                last_year = kept[-1][1].year
            out += [(x, label) for x, _, label in kept]
        return out


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _candidate_ticks(first: dt.date, last: dt.date) -> list[tuple[dt.date, str, float]]:
    """Days for short runs, first days of months for longer ones, years for long ones."""
    days = (last - first).days
    if days <= 120:
        return [(d, f"{d.day} {_MONTHS[d.month - 1]}", 0.5)
                for d in (first + dt.timedelta(days=i) for i in range(1, days))]
    if days <= 3 * 366:
        out, d = [], dt.date(first.year, first.month, 1)
        while d <= last:
            if d > first:
                out.append((d, _MONTHS[d.month - 1], 0.0))
            d = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return out
    return [(dt.date(y, 1, 1), str(y), 0.0) for y in range(first.year + 1, last.year + 1)]


def _duration(days: int) -> str:
    if days < 14:
        return f"{days} days"
    if days < 61:
        return f"{round(days / 7)} weeks"
    if days < 730:
        return f"{round(days / 30.4)} months"
    return f"{round(days / 365.25)} years"


def _timeline_svg(dated: list, prefix: str = "") -> str:
    """The overview: one marker per date (numbered like the list below), bars for weeks, months, years."""
    width, left, right = 720, 26, 26
    scale = _Scale([(w[0], w[1]) for _, w in dated], left, width - right)
    markers: list[tuple[tuple, list[int], list]] = []  # ((first, last, precision), numbers, events)
    for k, (e, when) in enumerate(dated, 1):
        if markers and markers[-1][0] == when:
            markers[-1][1].append(k)
            markers[-1][2].append(e)
        else:
            markers.append((when, [k], [e]))
    lanes: list[float] = []
    placed = []
    for (d0, d1, precision), numbers, events in markers:
        label = str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}\u2013{numbers[-1]}"
        pill = max(18.0, 6.2 * len(label) + 10)
        if precision == "day":
            x0 = scale.x(d0, 0.5)
            x1, start, end = x0, x0 - pill / 2, x0 + pill / 2
        else:
            x0, x1 = scale.x(d0), max(scale.x(d1, 1.0), scale.x(d0) + 4)
            start, end = x0 - pill / 2, max(x1, x0 + pill / 2)
        lane = next((i for i, stop in enumerate(lanes) if stop < start - 3), len(lanes))
        if lane == len(lanes):
            lanes.append(0.0)
        lanes[lane] = end
        placed.append((label, pill, numbers, events, precision, x0, x1, lane))
    axis = 28 + 24 * len(lanes)
    height = axis + 40
    first, last = dated[0][1][0], max(w[1] for _, w in dated)
    out = [f'<svg class="tl-svg" viewBox="0 0 {width} {height}" role="img" aria-label="Timeline from '
           f'{esc(fmt_date(first.isoformat()))} to {esc(fmt_date(last.isoformat()))}">']
    for x0, w in zip(scale.starts, scale.widths):
        out.append(f'<line class="tl-axis" x1="{x0:.1f}" y1="{axis}" x2="{x0 + w:.1f}" y2="{axis}"/>')
    for cx, length in scale.gaps():
        out.append(f'<path class="tl-break" d="M{cx - 7:.1f},{axis + 6} l5,-12 M{cx + 1:.1f},{axis + 6} l5,-12"/>'
                   f'<text class="tl-gap" x="{cx:.1f}" y="{axis + 32}">{esc(length)}</text>')
    for tx, label in scale.ticks():
        out.append(f'<line class="tl-tick" x1="{tx:.1f}" y1="{axis}" x2="{tx:.1f}" y2="{axis + 5}"/>'
                   f'<text class="tl-label" x="{tx:.1f}" y="{axis + 18}">{esc(label)}</text>')
    for label, pill, numbers, events, precision, x0, x1, lane in placed:
        y = axis - 20 - 24 * lane
        tip = "<title>" + esc(fmt_date(events[0].date) + ": " + " | ".join(e.text for e in events)) + "</title>"
        out.append(f'<line class="tl-stem" x1="{x0:.1f}" y1="{y}" x2="{x0:.1f}" y2="{axis}"/>')
        bar = (f'<rect class="span" x="{x0:.1f}" y="{y - 5}" width="{x1 - x0:.1f}" height="10" rx="5"/>'
               if precision != "day" else "")
        out.append(f'<a href="#{prefix}ev-{numbers[0]}"><g class="tl-{"dot" if precision == "day" else "range"}">'
                   f'{tip}{bar}<rect class="pill" x="{x0 - pill / 2:.1f}" y="{y - 9}" width="{pill:.1f}" '
                   f'height="18" rx="9"/><text x="{x0:.1f}" y="{y + 3.5}">{esc(label)}</text></g></a>')
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------- actors
def _actors(view: View) -> str:
    ranked = actors(view.briefing)
    if not ranked:
        return ""
    cards = []
    for ent in ranked[:MAX_ACTORS]:
        n_art = len({m.article_id for m in ent.mentions})
        variants = [v for v in dict.fromkeys(ent.variants) if v != ent.name]
        lines = []
        if ent.roles:
            lines.append(f'<p class="roles">{esc(", ".join(dict.fromkeys(ent.roles)))}</p>')
        if variants:
            lines.append(f'<p class="variants">also: {esc("; ".join(variants))}</p>')
        first_mentions = {}
        for m in ent.mentions:
            first_mentions.setdefault(m.article_id, Citation(m.article_id, m.span))
        mentions = (f'<p class="mentions">{len(ent.mentions)} mention{"" if len(ent.mentions) == 1 else "s"} in '
                    f'{n_art} article{"" if n_art == 1 else "s"}{_cites(view, first_mentions.values())}</p>')
        kind = TYPE_LABELS.get(ent.type, ent.type)
        cards.append(f'<li class="actor"><p class="name">{esc(ent.name)} <span class="type">{esc(kind)}</span></p>'
                     + "".join(lines) + mentions + "</li>")
    rest = ranked[MAX_ACTORS:]
    tail = ""
    if rest:
        named = ", ".join(f"{esc(e.name)} ({len({m.article_id for m in e.mentions})})" for e in rest[:MAX_NAMED])
        more = f", and {len(rest) - MAX_NAMED} more" if len(rest) > MAX_NAMED else ""
        tail = f'<p class="more">Also named (articles): {named}{more}.</p>'
    return '<ul class="actors">\n' + "\n".join(cards) + "\n</ul>" + tail


# --------------------------------------------------------------------------- quotes
def _quotes(view: View) -> str:
    clusters = quote_clusters(view.briefing, view)
    shown = [c for c in clusters if c.issues or c.lead.kind != "indirect"]
    reported = [c for c in clusters if not c.issues and c.lead.kind == "indirect"]
    parts = [_quote(view, c) for c in shown[:MAX_QUOTES]]
    if len(shown) > MAX_QUOTES:
        parts.append(f'<p class="more">and {len(shown) - MAX_QUOTES} more quotations (all are in the JSON '
                     'briefing).</p>')
    if reported:
        items = [f'<li><span class="who">{esc(speaker_text(c.lead))}:</span> {esc(c.lead.text)}'
                 f'{_cites(view, [Citation(q.article_id, q.span) for q in c.members])}</li>'
                 for c in reported[:MAX_QUOTES]]
        more = len(reported) - MAX_QUOTES
        tail = f'<p class="more">and {more} more.</p>' if more > 0 else ""
        parts.append('<h3>Reported speech</h3>\n<ul class="reported">' + "\n".join(items) + "</ul>" + tail)
    return "\n".join(parts)


def _quote(view: View, cluster: QuoteCluster) -> str:
    lead = cluster.lead
    direct = lead.kind != "indirect"
    text = f"\u201c{esc(lead.text.strip(chr(34) + ' '))}\u201d" if direct else esc(lead.text)
    kind = "" if direct else ' <span class="badge info">reported speech</span>'
    cites = _cites(view, [Citation(q.article_id, q.span) for q in cluster.members])
    speaker = esc(speaker_text(lead))
    explained = {rel for _, _, rel, _ in cluster.issues}
    flags = _badges([f for f in lead.flags if f.kind not in explained])
    issues = "".join(_issue(view, a, b, rel, diff) for a, b, rel, diff in cluster.issues)
    issues += "".join(f'<li>{_badges([f])} {_where(view, q)}{": " + esc(f.detail) if f.detail else ""}</li>'
                      for q in cluster.members if q is not lead for f in q.flags if f.kind not in explained)
    issues = f'<ul class="integrity">{issues}</ul>' if issues else ""
    n_articles = len({q.article_id for q in cluster.members})
    n_origins = len({view.group_of.get(q.article_id, q.article_id) for q in cluster.members})
    origins = f", {n_origins} origin{'' if n_origins == 1 else 's'}" if n_origins < n_articles else ""
    status = f'<span class="badge ok">same words in {n_articles} articles{origins}</span>' \
        if not cluster.issues and n_articles > 1 else ""
    return (f'<figure class="quote{" flagged" if cluster.issues else ""}">\n'
            f'<blockquote{"" if direct else " class=indirect"}><p>{text}</p></blockquote>\n'
            f'<figcaption>\u2014 {speaker}{kind}{cites} {status} {flags}</figcaption>\n{issues}\n</figure>')


def _issue(view: View, a: Quote, b: Optional[Quote], relation: str, diff: Optional[str]) -> str:
    label = RELATION_LABELS.get(relation, relation.replace("_", " "))
    level = "danger" if relation in ("altered", "speaker_mismatch", "misattributed_narration") else "warn"
    where = _where(view, a) + (f" vs. {_where(view, b)}" if b is not None else "")
    detail = ""
    if relation == "speaker_mismatch" and b is not None:
        where = (f"{esc(speaker_text(a))} in {_where(view, a)}, but {esc(speaker_text(b))} in "
                 f"{_where(view, b)}")
    elif relation in ("altered", "truncated") and b is not None:
        old, new = (a, b) if len(a.text) >= len(b.text) else (b, a)
        detail = f'<p class="diff">{_diff_html(old.text, new.text)}</p>'
    elif relation == "misattributed_narration":
        source = narration_citation(view, a, diff, *(f.detail for f in a.flags if f.kind == relation))
        if source is not None:
            n = view.number[source.article_id]
            where = (f"quoted in {_where(view, a)}, but <a href=\"#{view.anchor(f'src-{n}')}\">[{n}]</a> "
                     f"{esc(view.outlet(source.article_id))} prints the words as its own narration:")
            detail = f'<p class="detail">\u201c{esc(view.span_text(source))}\u201d</p>'
        else:
            detail = '<p class="detail">Words an outlet wrote itself appear elsewhere as a quotation.</p>'
    if diff and not detail and relation != "speaker_mismatch":
        detail = f'<p class="detail"><code>{esc(diff)}</code></p>'
    return f'<li><span class="badge {level}">{esc(label)}</span> {where}{detail}</li>'


def _where(view: View, q: Quote) -> str:
    n = view.number.get(q.article_id)
    ref = f'<a href="#{view.anchor(f"src-{n}")}">[{n}]</a> ' if n else ""
    return f"{ref}{esc(view.outlet(q.article_id))}"


def _diff_html(old: str, new: str) -> str:
    out = []
    for op, words in word_diff(old, new):
        if op == "=":
            out.append(esc(words))
        elif op == "-":
            out.append(f'<del title="in the longer version only">{esc(words)}</del>')
        else:
            out.append(f'<ins title="in the shorter version only">{esc(words)}</ins>')
    return " ".join(out)


# --------------------------------------------------------------------------- claims
def _claim_line(view: View, claim) -> str:
    n = claim.independent_support or view.independent(claim.citations)
    support = f'<span class="support">{n} independent source{"" if n == 1 else "s"}</span>'
    label = f'<strong class="figure">{esc(claim_label(claim.label))}:</strong> ' if claim.label else ""
    return f"{label}{esc(claim.text)}{_cites(view, claim.citations)} {support} {_badges(claim.flags)}"


def _disputed(view: View) -> str:
    pairs = disputed_pairs(view.briefing)
    if not pairs:
        return ""
    out = []
    for claim, others in pairs:
        sides = [f'<p class="side">{_claim_line(view, claim)}</p>'] + [
            f'<p class="versus">but</p><p class="side">{_claim_line(view, o)}</p>' for o in others]
        out.append('<div class="dispute">' + "".join(sides) + "</div>")
    return "\n".join(out)


def _facts(view: View) -> str:
    claims = key_facts(view.briefing, view)
    if not claims:
        return ""
    items = [f"<li>{_claim_line(view, c)}</li>" for c in claims[:MAX_CLAIMS]]
    more = len(claims) - MAX_CLAIMS
    tail = f'<p class="more">and {more} more with less support.</p>' if more > 0 else ""
    return '<ul class="facts-list">\n' + "\n".join(items) + "\n</ul>" + tail


# --------------------------------------------------------------------------- sources
def _sources(view: View) -> str:
    if not view.groups:
        return '<p class="empty">No articles.</p>'
    intro = (f'<p class="lede">{view.n_articles} article{"" if view.n_articles == 1 else "s"} from '
             f'{view.n_sources} independent source{"" if view.n_sources == 1 else "s"}. Articles that share an '
             'origin (a wire story and its copies, or rewrites) form one group and count once.</p>')
    bodies = []
    for g in view.groups:
        n = len(g.articles)
        what = f'<span class="gwhat">{n} articles,<br>one origin</span>' if n > 1 else ""
        group_cell = f'<td class="grp" rowspan="{n}"><span class="gnum">{g.number}</span>{what}</td>'
        rows = [_source_row(view, a, group_cell if k == 0 else "") for k, a in enumerate(g.articles)]
        bodies.append(f'<tbody{" class=shared" if n > 1 else ""}>' + "\n".join(rows) + "</tbody>")
    return (intro + '\n<div class="table-wrap"><table class="sources">\n<thead><tr><th title="independence group">Group</th><th>#</th>'
            '<th>Outlet</th><th>Headline</th><th>Published</th><th>Relation</th></tr></thead>\n'
            + "\n".join(bodies) + "\n</table></div>")


def _source_row(view: View, a, group_cell: str) -> str:
    n = view.number[a.id]
    shown = display_title(a)
    title = esc(shown) if shown else '<span class="muted">(no headline)</span>'
    url = a.source.url if a.source else None
    if url and urlparse(url).scheme in ("http", "https"):
        title = f'<a href="{esc(url)}" rel="noreferrer noopener">{title}</a>'
    when = esc(fmt_date(a.published)) if a.published else '<span class="badge warn">date unknown</span>'
    if a.published and a.published_basis in ("inferred", "text"):
        when += f'<span class="basis">{esc(a.published_basis)}</span>'
    byline = f'<span class="byline">{esc(", ".join(a.authors))}</span>' if a.authors else ""
    flags = _badges(a.flags)
    extra = byline + (f'<span class="aflags">{flags}</span>' if flags else "")
    return (f'<tr id="{view.anchor(f"src-{n}")}">{group_cell}<td class="num">{n}</td><td class="outlet">{_article_link(view, a.id)}</td>'
            f'<td class="headline">{title}{extra}</td><td class="date">{when}</td>'
            f'<td class="rel">{esc(reuse_text(view, a))}</td></tr>')


def _article_link(view: View, article_id: str) -> str:
    name = esc(view.outlet(article_id))
    return f'<a href="{esc(view.article_href(article_id))}">{name}</a>' if view.article_href else name


def _footer(view: View) -> str:
    b = view.briefing
    return (f'<footer><p>Generated {esc(fmt_stamp(b.generated_at))} by storydesk (briefing schema v{esc(b.schema_version)}). '
            'Summary sentences are exact extracts of the articles cited after them; tap or click a number '
            'to read the cited words. Numbers refer to the sources table.</p></footer>')
