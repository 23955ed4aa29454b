"""The briefing JSON follows schema_version 1."""
from __future__ import annotations

import copy

import pytest

from storydesk.briefing import build_briefing, render, schema, validate
from storydesk.errors import StorydeskError
from storydesk.ingest import ingest

from conftest import FIXTURES


def test_briefing_of_fixtures_validates(store):
    ingest([str(FIXTURES)], store)
    import json
    doc = json.loads(render(build_briefing(store), "json"))
    assert doc["schema_version"] == 1
    assert len(doc["articles"]) == store.article_count()
    for key in ("stories", "reuse", "source_groups", "entities", "quotes", "claims", "timeline", "summary"):
        assert isinstance(doc[key], list)


def test_schema_rejects_broken_documents(store):
    ingest([str(FIXTURES / "page.html")], store)
    good = build_briefing(store).to_dict()
    validate(good)
    for breaking in (lambda d: d.pop("summary"),
                     lambda d: d["articles"][0].update(published_basis="guessed"),
                     lambda d: d["articles"][0].update(id="not-an-id"),
                     lambda d: d.update(schema_version=2)):
        bad = copy.deepcopy(good)
        breaking(bad)
        with pytest.raises(StorydeskError, match="schema_version 1"):
            validate(bad)


def test_schema_file_is_the_documented_one():
    from pathlib import Path
    docs = Path(__file__).resolve().parents[1] / "docs" / "briefing.schema.json"
    import json
    assert json.loads(docs.read_text()) == schema()
