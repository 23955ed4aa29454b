"""Behaviour of the Markdown and HTML briefings (storydesk/render)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

import briefing_sample as sample
from storydesk.records import (Article, Briefing, Citation, Quote, Source, Speaker, SummarySentence,
                               TimelineEvent)
from storydesk.render import build_view, fmt_date, parse_when, word_diff
from storydesk.render.html import render_html
from storydesk.render.markdown import md, render_markdown
from storydesk.analysis.summary import summarize

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "source", "wbr", "circle", "line", "rect", "path"}


class Page(HTMLParser):
    """Collects tags, attributes and text; checks that elements nest properly."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text, self.stack, self.errors = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    assert not p.errors, p.errors[:5]
    assert p.stack == [], p.stack
    return p


def full_briefing() -> Briefing:
    arts = sample.articles()
    base = sample.briefing()
    groups = {a: g.origin_id for g in base.source_groups for a in g.article_ids}
    summary = summarize(arts, budget_words=150, independent_groups=groups)
    hostile = arts[4]
    line = hostile.text.split("\n", 1)[0]  # the sentence carrying <script>, always cited, chosen or not
    if not any(s.text == line for s in summary):
        summary.append(SummarySentence(line, [Citation(hostile.id, (0, len(line)))]))
    return sample.briefing(summary=summary)


# --------------------------------------------------------------------------- HTML
def test_html_has_every_section_and_is_well_formed():
    page = render_html(full_briefing())
    p = parse(page)
    for anchor in ("summary", "timeline", "actors", "quotes", "disputed", "sources"):
        assert f'id="{anchor}"' in page
    text = " ".join(p.text)
    assert "5 articles" in text and "4 independent sources" in text
    assert "15\u201318 Mar 2031" in text
    assert "svg" in p.tags  # the timeline is drawn


def test_html_is_self_contained_and_has_no_script():
    page = render_html(full_briefing())
    p = parse(page)
    assert not {"script", "link", "iframe", "object", "embed", "img"} & set(p.tags)
    assert not [k for k, _ in p.attrs if k.startswith("on") or k == "src"]
    assert "@import" not in page and "url(" not in page
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)


def test_script_in_article_text_is_shown_as_text():
    briefing = full_briefing()
    page = render_html(briefing)
    p = parse(page)
    assert "script" not in p.tags and "i" not in p.tags and "b" not in p.tags
    text = "".join(p.text)
    assert "<script>alert('x')</script>" in text  # visible, as text
    assert "Brellin <Blog>" in text and "Videos: <i>the flood</i>" in text
    assert "&lt;script&gt;" in page


def test_hostile_metadata_and_urls_are_neutralised():
    evil = Article(id="aevil", source=Source("html", url="javascript:alert(1)"),
                   text="Nothing \"><script>x()</script> to see.", title='"><img src=x onerror=alert(1)>',
                   outlet="<svg onload=alert(1)>", authors=["<b>Bold</b>"], published="2031-01-01")
    fine = Article(id="afine", source=Source("html", url="https://example.org/story"), text="Fine text here.",
                   outlet="Fine", published="2031-01-02")
    quote = Quote("q", "aevil", (8, 40), '"><script>x()</script>', "direct", speaker=Speaker("<i>Someone</i>"))
    b = Briefing(generated_at="<now>", articles=[evil, fine], quotes=[quote],
                 summary=[SummarySentence("Nothing \"><script>x()</script> to see.", [Citation("aevil", (0, 39))])])
    page = render_html(b)
    p = parse(page)
    assert not {"script", "img", "b", "i"} & set(p.tags)
    assert "svg" not in p.tags  # no timeline here, so no svg at all: the outlet's <svg> is text
    assert not [k for k, _ in p.attrs if k.startswith("on")]
    hrefs = [v for k, v in p.attrs if k == "href"]
    assert "javascript:alert(1)" not in hrefs and "https://example.org/story" in hrefs


def test_citations_link_to_sources_and_show_the_exact_span():
    briefing = full_briefing()
    page = render_html(briefing)
    ids = set(re.findall(r'id="(src-\d+)"', page))
    links = set(re.findall(r'href="#(src-\d+)"', page))
    assert links and links <= ids
    assert len(ids) == len(briefing.articles)
    view = build_view(briefing)
    for s in briefing.summary:
        for n, c in view.cite_numbers(s.citations):
            span = view.span_text(c)
            assert f'href="#src-{n}"' in page
            assert span.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
                .replace("'", "&#x27;") in page


def test_sources_are_grouped_by_independence():
    briefing = full_briefing()
    view = build_view(briefing)
    assert view.n_sources == 4
    wire, copy = briefing.articles[0], briefing.articles[1]
    assert view.group_of[wire.id] == view.group_of[copy.id]
    assert view.number[copy.id] == view.number[wire.id] + 1  # copies listed under their origin
    page = render_html(briefing)
    assert "near-verbatim copy of [" in page
    assert 'rowspan="2"' in page


def test_quote_integrity_is_shown():
    page = render_html(full_briefing())
    assert "shortened" in page and "<del" in page and "different speaker" in page
    assert "low confidence" in page


def test_thin_evidence_is_noted():
    page = render_html(full_briefing())
    text = " ".join(parse(page).text)
    assert "Read with care" in text
    assert "single source" in text
    assert "without a usable publication date" in text
    assert "stated date does not fit the content" in text
    assert "could not be dated" in text


def test_briefing_with_only_articles_renders():
    b = Briefing(generated_at="2031-03-19T08:00:00+00:00", articles=sample.articles())
    page = render_html(b)
    parse(page)
    assert 'id="sources"' in page and 'id="timeline"' not in page and 'id="quotes"' not in page
    doc = render_markdown(b)
    assert "## Sources" in doc and "## Timeline" not in doc


def test_empty_briefing_renders():
    b = Briefing(generated_at="2031-03-19T08:00:00+00:00")
    parse(render_html(b))
    assert "0 articles" in render_markdown(b)


def test_bad_spans_do_not_crash():
    arts = sample.articles()[:1]
    b = Briefing(generated_at="x", articles=arts, summary=[
        SummarySentence("Out of range.", [Citation(arts[0].id, (5, 10**6))]),
        SummarySentence("Unknown article.", [Citation("a-missing", (0, 3))]),
    ])
    page = render_html(b)
    parse(page)
    assert "span outside the article" in page
    render_markdown(b)


# --------------------------------------------------------------------------- timeline
def test_timeline_dates_precisions_and_impossible_dates():
    arts = sample.articles()[:1]
    cite = [Citation(arts[0].id, (0, 10))]
    events = [TimelineEvent("2031-W10", "week", "A week.", cite), TimelineEvent("2031-02", "month", "A month.", cite),
              TimelineEvent("2030", "year", "A year.", cite), TimelineEvent("2031-02-30", "day", "Impossible.", cite),
              TimelineEvent("P3W", "unknown", "A duration.", cite),
              TimelineEvent("2031-03-05T14:00", "day", "With a time.", cite)]
    b = Briefing(generated_at="x", articles=arts, timeline=events)
    page = render_html(b)
    parse(page)
    dated = page.index("A year.") < page.index("A month.") < page.index("A week.") < page.index("With a time.")
    assert dated
    undated = page[page.index("Undated events"):]
    assert "Impossible." in undated and "A duration." in undated
    assert "<rect" in page and "tl-break" in page  # ranges drawn as bars; the long gap is cut
    assert "## Timeline" in render_markdown(b)


def test_single_event_timeline():
    arts = sample.articles()[:1]
    b = Briefing(generated_at="x", articles=arts,
                 timeline=[TimelineEvent("2031-03-14", "day", "Only event.", [Citation(arts[0].id, (0, 5))])])
    page = render_html(b)
    parse(page)
    assert "Only event." in page and "tl-dot" in page


@pytest.mark.parametrize("value,expected", [("2031-03-15", "15 Mar 2031"), ("2031-03", "Mar 2031"),
                                            ("2031", "2031"), ("2031-W11", "week of 10 Mar 2031"),
                                            ("2031-03-15T10:00:00+00:00", "15 Mar 2031"), (None, "undated")])
def test_date_formatting(value, expected):
    assert fmt_date(value) == expected


def test_parse_when_rejects_impossible_dates():
    assert parse_when("2031-02-30") is None and parse_when("2031-13") is None and parse_when("soon") is None


# --------------------------------------------------------------------------- Markdown
def test_markdown_sections_and_citation_links():
    doc = render_markdown(full_briefing())
    for heading in ("## Summary", "## Timeline", "## Actors", "## Quotes", "## Disputed facts", "## Sources"):
        assert heading in doc
    markers = set(re.findall(r"\[\[(\d+)\]\]", doc))
    defined = set(re.findall(r"^\[(\d+)\]: #source-\1 ", doc, flags=re.M))
    anchors = set(re.findall(r'<a id="source-(\d+)"></a>', doc))
    assert markers and markers <= defined == anchors
    assert "Group 1" in doc and "independent" in doc
    assert "~~" in doc  # the shortened quote's missing words


def test_markdown_escapes_article_markup():
    doc = render_markdown(full_briefing())
    assert "\\<script\\>alert('x')\\</script\\>" in doc
    assert "<script>" not in doc and "<i>" not in doc and "<Blog>" not in doc.split("[1]: #source-1")[0]
    assert md("*bold* [link](x) | pipe <b>") == "\\*bold\\* \\[link\\](x) \\| pipe \\<b\\>"
    assert md("line\nbreak") == "line break"


def test_word_diff():
    assert word_diff("we had an hour and we did it", "we had an hour") == [("=", "we had an hour"),
                                                                           ("-", "and we did it")]
    assert ("+", "two") in word_diff("one hour", "two hour")


def test_large_briefing_renders():
    arts = [Article(id=f"a{k}", source=Source("txt"), outlet=f"Outlet {k}", title=f"Headline {k}",
                    text=f"Story number {k} says the bridge over the river was closed on Monday.",
                    published=f"2031-03-{1 + k % 28:02d}") for k in range(300)]
    summary = summarize(arts, budget_words=150)
    b = Briefing(generated_at="x", articles=arts, summary=summary)
    parse(render_html(b))
    assert "300 articles" in render_markdown(b)


def test_markdown_renders_safely_through_a_commonmark_parser():
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py is not installed")
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(
        render_markdown(full_briefing()))
    p = Page()
    p.feed(rendered)
    assert not {"script", "i", "b", "img"} & set(p.tags)
    assert "<script>alert('x')</script>" in "".join(p.text)
    hrefs = {v for k, v in p.attrs if k == "href"}
    assert "#source-1" in hrefs  # [[n]] markers became links to the sources table


def test_timeline_shows_each_sentence_once_and_keeps_old_dates_off_the_axis():
    arts = sample.articles()[:1]  # published 15 Mar 2031
    cite = [Citation(arts[0].id, (0, 10))]
    twice = "The dam, built in 1974, was holding back a swollen reservoir last week."
    events = [TimelineEvent("1974", "year", twice, cite), TimelineEvent("2031-W10", "week", twice, cite),
              TimelineEvent("1998", "year", "The town was last flooded in 1998.", cite),
              TimelineEvent("2031-03-14", "day", "The dam broke.", cite)]
    b = Briefing(generated_at="x", articles=arts, timeline=events)
    page = render_html(b)
    parse(page)
    svg = page[page.index("<svg"):page.index("</svg>")]
    listed = page.replace(svg, "")
    assert listed.count(twice) == 1 and "1974</time>" not in listed  # kept under the week, not under 1974
    assert "1998" not in svg and "years" not in svg  # the axis spans weeks, not decades
    background = page[page.index("Earlier background"):]
    assert "last flooded in 1998" in background
    md_text = render_markdown(b)
    assert md_text.count(twice) == 1 and "Earlier background" in md_text
