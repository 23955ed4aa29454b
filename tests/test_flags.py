"""Flag kinds are one table (storydesk/data/flags.json): the code, the renderers and the docs agree."""
from __future__ import annotations

import re
from pathlib import Path

from storydesk.records import Flag
from storydesk.render import flag_kinds, flag_label, flag_level

ROOT = Path(__file__).resolve().parents[1]
_SET = re.compile(r'Flag\(\s*"([a-z_]+)"')


def kinds_set_in_code() -> set[str]:
    return {k for path in (ROOT / "storydesk").rglob("*.py") for k in _SET.findall(path.read_text(encoding="utf-8"))}


def test_every_flag_the_code_sets_is_in_the_table():
    found = kinds_set_in_code()
    assert len(found) > 15  # the scan itself works
    assert found - set(flag_kinds()) == set()


def test_every_kind_in_the_table_is_documented_with_its_wording_and_level():
    doc = (ROOT / "docs" / "briefing.md").read_text(encoding="utf-8")
    for kind in flag_kinds().values():
        assert f"| `{kind.kind}` | {kind.label} | {kind.level} |" in doc, kind.kind


def test_renderers_read_the_table():
    for kind in flag_kinds().values():
        assert kind.level in ("warn", "info") and kind.label and kind.help
        assert flag_label(Flag(kind.kind, "")) == kind.label
        assert flag_level(Flag(kind.kind, "")) == kind.level
    assert flag_label(Flag("from_a_plugin", "")) == "from a plugin"


def test_the_web_article_page_reads_the_table():
    from storydesk.records import Article, Source
    from storydesk.web.pages import env

    kind = next(k for k in flag_kinds().values() if k.level == "info" and k.label != k.kind.replace("_", " "))
    html = env().get_template("article.html").render(
        art=Article(id="a1", source=Source("text"), text="", flags=[Flag(kind.kind, "why")]), segs=[], marks=[],
        title="t", csrf="", pending_jobs=0)
    assert f'<span class="badge info" title="why">{kind.label}</span>' in html
