"""The briefing as Markdown (CommonMark with GFM tables).

Citation markers ``[[n]]`` are reference links to the source ``n`` in the
sources table; their link title names the outlet and date. Article-derived text
is backslash-escaped, so markup inside an article (``<script>``, ``*``, ``[``)
is shown as text, never interpreted.
"""
from __future__ import annotations

import re
from typing import Iterable

from ..records import Briefing, Citation
from . import (MAX_ACTORS, MAX_CLAIMS, MAX_NAMED, MAX_QUOTES, RELATION_LABELS, View, actors, build_view, claim_label,
               display_title, disputed_pairs, event_text, flag_label, fmt_date, key_facts, legend, narration_citation,
               quote_clusters, reuse_text, speaker_text, split_stories, story_label, timeline_sections, word_diff)
from .. import sanitize
from ..text import normalise

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&!{}])")


def md(value) -> str:
    """Escape Markdown/HTML syntax and fold newlines, so the text renders as itself."""
    text = sanitize.line(" ".join(("" if value is None else str(value)).split()))  # ESC, bidi: shown escaped
    return _SPECIAL.sub(r"\\\1", text)


FOOTER = ("Summary sentences are exact extracts of the articles cited after them; numbers refer to the "
          "sources table (they restart in each story).")


def render_markdown(briefing: Briefing) -> str:
    """Render ``briefing`` as a Markdown document; several stories become contents + one part each."""
    view = build_view(briefing)
    if len(briefing.stories) > 1:
        parts = [build_view(b, prefix=f"s{k}-") for k, b in enumerate(split_stories(briefing), 1)]
        body = [_contents(parts)] + [_story(k, v) for k, v in enumerate(parts, 1)]
        head = [_header(view)]
    else:
        head = [_header(view), _notes(view)]
        body = _body(view)
    tail = [_legend(briefing), f"---\n\n*Generated {md(briefing.generated_at)} by storydesk (briefing schema "
            f"v{briefing.schema_version}). {FOOTER}*\n"]
    return "\n".join(p for p in head + body + tail if p)


def _body(view: View) -> list[str]:
    return [_summary(view), _timeline(view), _actors(view), _quotes(view), _disputed(view), _facts(view),
            _sources(view), _evidence(view), _links(view)]


def _h(view: View, title: str, depth: int = 0) -> str:
    """A section heading, one level down inside a story part."""
    return "#" * (2 + depth + (1 if view.prefix else 0)) + f" {title}\n"


def _contents(parts: list[View]) -> str:
    lines = ["## Stories\n"]
    for k, v in enumerate(parts, 1):
        lines.append(f"{k}. [{md(story_label(v.briefing))}](#story-{k}) \u2014 {_facts_line(v)}")
    return "\n".join(lines) + "\n"


def _facts_line(view: View) -> str:
    n, m = view.n_articles, view.n_sources
    return (f"{md(view.date_range)} \u00b7 {n} article{'' if n == 1 else 's'} \u00b7 {m} independent "
            f"source{'' if m == 1 else 's'}")


def _story(k: int, view: View) -> str:
    head = (f'<a id="story-{k}"></a>\n\n## {k}. {md(story_label(view.briefing))}\n\n*{_facts_line(view)}*\n')
    return "\n".join(p for p in [head, _notes(view), *_body(view)] if p)


def _legend(briefing: Briefing) -> str:
    lines = ["## What the flags mean\n"] + [f"- *{md(word)}*: {md(meaning)}" for word, meaning in legend(briefing)]
    return "\n".join(lines) + "\n"


def _cites(view: View, citations: Iterable[Citation]) -> str:
    marks = " ".join(_mark(view, n) for n, _ in view.cite_numbers(list(citations)))
    return f" {marks}" if marks else ""


def _mark(view: View, n: int) -> str:
    """``[[n]]``: a reference link to source n (prefixed inside a story part, so parts do not collide)."""
    return f"[[{n}]][{view.prefix}{n}]" if view.prefix else f"[[{n}]]"


def _flags(flags) -> str:
    labels = [flag_label(f) for f in flags]
    return f" *({md('; '.join(labels))})*" if labels else ""


def _header(view: View) -> str:
    n, m = view.n_articles, view.n_sources
    return (f"# {md(view.label)}\n\n*Briefing \u00b7 {md(view.date_range)} \u00b7 {n} article{'' if n == 1 else 's'}"
            f" \u00b7 {m} independent source{'' if m == 1 else 's'}*\n")


def _notes(view: View) -> str:
    if not view.notes:
        return ""
    return "> **Read with care**\n>\n" + "\n".join(f"> - {md(n)}" for n in view.notes) + "\n"


def _summary(view: View) -> str:
    if not view.briefing.summary:
        return ""
    lines = [_h(view, "Summary")]
    for k, s in enumerate(view.briefing.summary, 1):
        lines.append(f"{k}. {md(s.text)}{_cites(view, s.citations)}{_flags(s.flags)}")
    return "\n".join(lines) + "\n"


def _timeline(view: View) -> str:
    dated, background, undated = timeline_sections(view.briefing)
    if not dated and not undated:
        return ""
    lines = [_h(view, "Timeline")]
    lines += [_event(view, e, precision) for e, (_, _, precision) in dated]
    if background:
        lines.append("\n**Earlier background**\n")
        lines += [_event(view, e, precision) for e, (_, _, precision) in background]
    if undated:
        lines.append("\n**Undated** *(date unknown)*\n")
        lines += [f"- {md(event_text(e))}{_cites(view, e.citations)}" for e in undated]
    return "\n".join(lines) + "\n"


def _event(view: View, e, precision: str) -> str:
    approx = f" ({precision})" if precision != "day" else ""
    return f"- **{md(fmt_date(e.date))}**{approx} \u2014 {md(event_text(e))}{_cites(view, e.citations)}"


def _actors(view: View) -> str:
    ranked = actors(view.briefing)
    if not ranked:
        return ""
    lines = [_h(view, "Actors")]
    for ent in ranked[:MAX_ACTORS]:
        bits = [ent.type.lower()]
        if ent.roles:
            bits.append(", ".join(dict.fromkeys(ent.roles)))
        variants = [v for v in dict.fromkeys(ent.variants) if v != ent.name]
        if variants:
            bits.append("also: " + "; ".join(variants))
        firsts = {}
        for m in ent.mentions:
            firsts.setdefault(m.article_id, Citation(m.article_id, m.span))
        n_art = len(firsts)
        bits.append(f"{len(ent.mentions)} mention{'' if len(ent.mentions) == 1 else 's'} in {n_art} "
                    f"article{'' if n_art == 1 else 's'}")
        lines.append(f"- **{md(ent.name)}** \u2014 {md('; '.join(bits))}{_cites(view, firsts.values())}")
    rest = ranked[MAX_ACTORS:]
    if rest:
        named = ", ".join(f"{md(e.name)} ({len({m.article_id for m in e.mentions})})" for e in rest[:MAX_NAMED])
        more = f", and {len(rest) - MAX_NAMED} more" if len(rest) > MAX_NAMED else ""
        lines.append(f"\n*Also named (articles):* {named}{more}.")
    return "\n".join(lines) + "\n"


def _quotes(view: View) -> str:
    clusters = quote_clusters(view.briefing, view)
    if not clusters:
        return ""
    shown = [c for c in clusters if c.issues or c.lead.kind != "indirect"]
    reported = [c for c in clusters if not c.issues and c.lead.kind == "indirect"]
    lines = [_h(view, "Quotes")]
    for c in shown[:MAX_QUOTES]:
        lines += _quote(view, c)
    if len(shown) > MAX_QUOTES:
        lines.append(f"*and {len(shown) - MAX_QUOTES} more quotations (all are in the JSON briefing)*\n")
    if reported:
        lines.append("**Reported speech**\n")
        lines += [f"- {md(speaker_text(c.lead))}: {md(c.lead.text)}"
                  f"{_cites(view, [Citation(q.article_id, q.span) for q in c.members])}"
                  for c in reported[:MAX_QUOTES]]
        if len(reported) > MAX_QUOTES:
            lines.append(f"- *and {len(reported) - MAX_QUOTES} more*")
        lines.append("")
    return "\n".join(lines)


def _quote(view: View, c) -> list[str]:
    lead = c.lead
    text = f"\u201c{md(lead.text.strip(chr(34) + ' '))}\u201d" if lead.kind != "indirect" else \
        f"*{md(lead.text)}* (reported speech)"
    cites = _cites(view, [Citation(q.article_id, q.span) for q in c.members])
    explained = {rel for _, _, rel, _ in c.issues}
    lines = [f"> {text} \u2014 {md(speaker_text(lead))}{cites}"
             f"{_flags([f for f in lead.flags if f.kind not in explained])}"]
    for a, b, relation, diff in c.issues:
        label = RELATION_LABELS.get(relation, relation.replace("_", " "))
        where = _where(view, a) + (f" vs. {_where(view, b)}" if b is not None else "")
        detail = ""
        if relation in ("altered", "truncated") and b is not None:
            old, new = (a, b) if len(a.text) >= len(b.text) else (b, a)
            detail = ": " + _diff(old.text, new.text)
        elif relation == "speaker_mismatch" and b is not None:
            detail = f": {md(speaker_text(a))} vs. {md(speaker_text(b))}"
        elif relation == "misattributed_narration":
            source = narration_citation(view, a, diff, *(f.detail for f in a.flags if f.kind == relation))
            if source is not None:
                n = view.number[source.article_id]
                where = (f"quoted in {_where(view, a)}, but {_mark(view, n)} {md(view.outlet(source.article_id))} prints "
                         f"the words as its own narration")
                detail = f": \u201c{md(view.span_text(source))}\u201d"
        elif diff:
            detail = f": {md(diff)}"
        lines.append(f">\n> - **\u26a0 {md(label)}** \u2014 {where}{detail}")
    lines += [f">\n> - *{md(flag_label(f))}* \u2014 {_where(view, q)}" + (f": {md(f.detail)}" if f.detail else "")
              for q in c.members if q is not lead for f in q.flags if f.kind not in explained]
    lines.append("")
    return lines


def _where(view: View, quote) -> str:
    n = view.number.get(quote.article_id)
    return (f"{_mark(view, n)} " if n else "") + md(view.outlet(quote.article_id))


def _diff(old: str, new: str) -> str:
    out = []
    for op, words in word_diff(old, new):
        out.append(md(words) if op == "=" else (f"~~{md(words)}~~" if op == "-" else f"**{md(words)}**"))
    return " ".join(out)


def _claim(view: View, claim) -> str:
    n = claim.independent_support or view.independent(claim.citations)
    label = f"**{md(claim_label(claim.label))}:** " if claim.label else ""
    return (f"{label}{md(claim.text)}{_cites(view, claim.citations)} *({n} independent source{'' if n == 1 else 's'})*"
            f"{_flags(claim.flags)}")


def _disputed(view: View) -> str:
    pairs = disputed_pairs(view.briefing)
    if not pairs:
        return ""
    lines = [_h(view, "Disputed facts")]
    for claim, others in pairs:
        lines.append(f"- {_claim(view, claim)}")
        lines += [f"  **but** {_claim(view, o)}" for o in others]
    return "\n".join(lines) + "\n"


def _facts(view: View) -> str:
    claims = key_facts(view.briefing, view)
    if not claims:
        return ""
    lines = [_h(view, "Key facts")] + [f"- {_claim(view, c)}" for c in claims[:MAX_CLAIMS]]
    return "\n".join(lines) + "\n"


def _sources(view: View) -> str:
    if not view.groups:
        return ""
    n, m = view.n_articles, view.n_sources
    lines = [_h(view, "Sources"), f"{n} article{'' if n == 1 else 's'} from {m} independent source"
             f"{'' if m == 1 else 's'}. Articles that share an origin (a wire story and its copies, or rewrites) "
             "form one group and count once.\n"]
    for g in view.groups:
        size = len(g.articles)
        what = "independent" if size == 1 else f"{size} articles sharing one origin, counted once"
        lines += [_h(view, f"Group {g.number}: {md(view.outlet(g.origin.id))} ({what})", 1),
                  "| # | Outlet | Headline | Published | Relation |", "|---:|---|---|---|---|"]
        for a in g.articles:
            num = view.number[a.id]
            when = fmt_date(a.published) if a.published else "**unknown**"
            if a.published and a.published_basis in ("inferred", "text"):
                when += f" ({a.published_basis})"
            flags = f" \u2014 *{md('; '.join(flag_label(f) for f in a.flags))}*" if a.flags else ""
            title = md(display_title(a)) or "*(no headline)*"
            lines.append(f'| <a id="{view.prefix}source-{num}"></a>{num} | {md(view.outlet(a.id))} | {title}{flags} | '
                         f"{when} | {md(reuse_text(view, a))} |")
        lines.append("")
    return "\n".join(lines)


def _evidence(view: View) -> str:
    """Cited words that differ from the summary sentence (same words are not repeated)."""
    lines = []
    for k, s in enumerate(view.briefing.summary, 1):
        for n, c in view.cite_numbers(s.citations):
            span = view.span_text(c)
            if normalise(span) != normalise(s.text):
                lines.append(f"- **{k}.** {_mark(view, n)} {md(view.outlet(c.article_id))}: \u201c{md(span)}\u201d")
    if not lines:
        return ""
    return _h(view, "Evidence in other words") + "\nWhere a cited source words a summary sentence differently:\n\n" + \
        "\n".join(lines) + "\n"


def _links(view: View) -> str:
    """Reference definitions for the ``[n]`` markers (not shown when rendered)."""
    defs = []
    for aid, n in sorted(view.number.items(), key=lambda kv: kv[1]):
        art = view.articles[aid]
        title = f"{view.outlet(aid)}, {fmt_date(art.published) if art.published else 'undated'}"
        title = sanitize.line(" ".join(title.replace(chr(34), chr(39)).replace("\\", "/").split()))
        defs.append(f'[{view.prefix}{n}]: #{view.prefix}source-{n} "{title}"')
    return "\n".join(defs) + "\n" if defs else ""
