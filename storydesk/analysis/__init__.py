"""The analysis: one module per stage, each a pure core plus a short stage adapter.

``STAGE_MODULES`` is the one list of stage modules; :func:`storydesk.pipeline.registry`
loads them. Order here does not matter; the pipeline orders stages by what they need and
add. The other modules here are shared cores: :mod:`.timex` (time expressions),
:mod:`.story_dates` (the dates of a story).
"""
from __future__ import annotations

import importlib

STAGE_MODULES = (
    "stories",      # stories: incremental story clustering
    "provenance",   # reuse, source_groups: copies and rewrites, independent sources
    "entities",     # entities: people, organisations, places with variants merged
    "quotes",       # quotes: who said what, and quote integrity across outlets
    "timeline",     # date_checks, timeline: publication-date checks and dated events
    "claims",       # claims: figures grouped across sources, conflicts
    "summary",      # summary: cited multi-document summary
    "statements",   # statements: the same statement across articles, independent support, contradictions
)


def load() -> None:
    for name in STAGE_MODULES:
        importlib.import_module(f"{__name__}.{name}")
