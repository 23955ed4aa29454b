"""Update mode (``brief --since DATE``): every section says only what is new after a date.

An article is new when its trusted publication date is after ``since`` (see
:func:`storydesk.analysis.summary.published_after`; a date flagged as not fitting the
content is not trusted, so such an article is never "new"). The update briefing
keeps the new articles only, and of every section what they report:

- summary: what new articles add to what earlier ones said (:func:`summarize` with ``since``);
- timeline: events reported by new articles and by no earlier one;
- quotes: quotes printed by new articles; entities: those new articles mention (their mentions there);
- claims: claims a new article makes, citing the new articles;
- provenance: reuse and source groups among the new articles.
"""
from __future__ import annotations

from dataclasses import replace

from .records import Briefing, Citation
from .analysis.summary import published_after, summarize


def since_briefing(briefing: Briefing, since: str, budget_words: int = 150) -> Briefing:
    """The part of ``briefing`` that is new after ``since`` (ISO date or datetime)."""
    new = {a.id for a in briefing.articles if published_after(a, since)}
    old = {a.id for a in briefing.articles} - new
    groups = {aid: g.origin_id for g in briefing.source_groups for aid in g.article_ids}
    summary = summarize(briefing.articles, budget_words=budget_words, independent_groups=groups or None, since=since)
    quotes = [q for q in briefing.quotes if q.article_id in new]
    kept_quotes = {q.id for q in quotes}
    quotes = [replace(q, matches=[m for m in q.matches if m.quote_id in kept_quotes]) for q in quotes]
    claims = [replace(c, citations=_only(c.citations, new)) for c in briefing.claims
              if _only(c.citations, new)]
    kept_claims = {c.id for c in claims}
    return replace(
        briefing,
        articles=[a for a in briefing.articles if a.id in new],
        stories=[replace(s, article_ids=[i for i in s.article_ids if i in new]) for s in briefing.stories],
        reuse=[r for r in briefing.reuse if r.source_id in new and r.derived_id in new],
        source_groups=[replace(g, article_ids=[i for i in g.article_ids if i in new],
                               origin_id=g.origin_id if g.origin_id in new else
                               next(i for i in g.article_ids if i in new))
                       for g in briefing.source_groups if any(i in new for i in g.article_ids)],
        entities=[replace(e, mentions=[m for m in e.mentions if m.article_id in new]) for e in briefing.entities
                  if any(m.article_id in new for m in e.mentions)],
        quotes=quotes,
        claims=[replace(c, conflicts=[i for i in c.conflicts if i in kept_claims]) for c in claims],
        timeline=[e for e in briefing.timeline
                  if _only(e.citations, new) and not _only(e.citations, old)],
        summary=summary,
    )


def _only(citations: list[Citation], ids: set[str]) -> list[Citation]:
    return [c for c in citations if c.article_id in ids]
