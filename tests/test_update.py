"""Update mode (storydesk/update.py): every section of the briefing keeps only what is new."""
from __future__ import annotations

import briefing_sample as sample
from storydesk.render.html import render_html
from storydesk.render.markdown import render_markdown
from storydesk.update import since_briefing


def test_every_section_keeps_only_what_articles_after_the_date_report():
    full = sample.briefing()
    update = next(a for a in full.articles if a.outlet == "Evening Ledger")  # the only article after 16 Mar
    b = since_briefing(full, "2031-03-16")
    assert [a.id for a in b.articles] == [update.id]
    cited = {c.article_id for rec in [*b.summary, *b.timeline, *b.claims] for c in rec.citations}
    assert cited <= {update.id}
    assert b.summary and {c.article_id for s in b.summary for c in s.citations} == {update.id}
    assert {e.text for e in b.timeline} == {"The national water agency opened a formal inquiry.",
                                            "Brellin began pumping water out of its lower districts."}
    assert [q.id for q in b.quotes] == ["q4"]
    assert {e.name for e in b.entities} == {"Ilse Marquand", "Tomas Renk", "Brellin", "national water agency"}
    assert all(m.article_id == update.id for e in b.entities for m in e.mentions)
    assert b.claims == [] and b.reuse == []
    assert [g.article_ids for g in b.source_groups] == [[update.id]]
    assert b.stories[0].article_ids == [update.id]
    page = render_html(b)
    assert "Harbor Wire" not in page and "Evening Ledger" in page
    assert "Harbor Wire" not in render_markdown(b)


def test_nothing_new_gives_an_empty_briefing_that_renders():
    b = since_briefing(sample.briefing(), "2031-12-31")
    assert b.articles == [] and b.summary == [] and b.timeline == [] and b.quotes == []
    assert "No articles" in render_html(b)
