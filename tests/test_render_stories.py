"""A briefing of several stories (table of contents, one part per story) and the page in a real browser.

The browser checks run headless Chromium (``apt-get install -y chromium``) and skip when it is absent.
A copy of the page gets a small measuring script (the page itself has none); the results are read
back from the DOM Chromium dumps.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import replace

import pytest

import briefing_sample as sample
from storydesk.records import Article, Briefing, Claim, Citation, Source, Story
from storydesk.render import display_title, source_name, split_stories
from storydesk.render.html import render_html
from storydesk.render.markdown import render_markdown
from storydesk.analysis.summary import summarize
from test_render import parse


def two_stories() -> Briefing:
    """The sample briefing cut into two stories: the collapse (3 articles) and the aftermath (2)."""
    base = sample.briefing()
    ids = [a.id for a in base.articles]
    first = Story("s-collapse", "Tessaly dam collapse floods Brellin", ids[:3])
    second = Story("s-after", "Brellin pumps out as inquiry opens", ids[3:])
    groups = {a: g.origin_id for g in base.source_groups for a in g.article_ids}
    summary = []
    for story in (first, second):
        arts = [a for a in base.articles if a.id in story.article_ids]
        summary += summarize(arts, budget_words=80, independent_groups=groups)
    return replace(base, stories=[first, second], summary=summary)


def test_several_stories_become_contents_and_one_part_each():
    b = two_stories()
    page = render_html(b)
    p = parse(page)
    text = " ".join(p.text)
    contents = page[page.index('id="contents"'):page.index('id="story-1"')]
    assert "Tessaly dam collapse floods Brellin" in contents and "Brellin pumps out as inquiry opens" in contents
    assert 'href="#story-1"' in contents and 'href="#story-2"' in contents
    one, two = page.index('id="story-1"'), page.index('id="story-2"')
    part_one, part_two = page[one:two], page[two:]
    # each part has its own summary and sources; an aftermath sentence never sits in the collapse part
    assert 'id="s1-summary"' in part_one and 'id="s1-sources"' in part_one
    assert 'id="s2-summary"' in part_two and 'id="s2-sources"' in part_two
    assert "began pumping water" not in part_one[:part_one.index('id="s1-sources"')]
    assert "Tessaly dam on the Varno river partly collapsed" not in part_two[:part_two.index('id="s2-sources"')]
    ids = Counter(v for k, v in p.attrs if k == "id")
    assert not [i for i, n in ids.items() if n > 1]  # anchors are unique on the page
    hrefs = {v[1:] for k, v in p.attrs if k == "href" and v.startswith("#")}
    assert hrefs <= set(ids)  # and every in-page link lands somewhere
    assert "5 articles" in text and "2 stories" in text


def test_markdown_of_several_stories_has_contents_and_unique_references():
    md_text = render_markdown(two_stories())
    assert "## Stories" in md_text and "## 1. Tessaly dam collapse floods Brellin" in md_text
    assert "## 2. Brellin pumps out as inquiry opens" in md_text
    assert md_text.count("### Summary") == 2 and md_text.count("### Sources") == 2
    defs = re.findall(r"^\[([^\]]+)\]: #", md_text, flags=re.M)
    assert len(defs) == len(set(defs)) == 5
    used = set(re.findall(r"\]\[(s\d-\d+)\]", md_text))
    assert used and used <= set(defs)


def test_split_keeps_records_with_their_story_and_loose_articles_apart():
    b = two_stories()
    b = replace(b, stories=[b.stories[0], replace(b.stories[1], article_ids=b.stories[1].article_ids[:1])])
    parts = split_stories(b)
    assert [len(p.articles) for p in parts] == [3, 1, 1]
    assert parts[-1].stories == []  # the article in no story
    assert all(c.article_id in {a.id for a in parts[0].articles} for s in parts[0].summary for c in s.citations)


def test_sources_are_named_by_outlet_else_file_name_and_titles_cut_at_a_word():
    long_line = "Floodwater " + "rises again over the old market of the lower town " * 4
    art = Article(id="a1", source=Source("txt", path="/home/someone/news/niger/flood-report.txt"),
                  text=long_line + "\nMore text.", outlet=None)
    assert source_name(art) == "flood-report.txt"
    title = display_title(art)
    assert title.endswith("\u2026") and len(title) <= 115
    assert long_line.startswith(title[:-2].rstrip())  # a prefix of whole words
    assert title[:-2].rstrip().split()[-1] in long_line.split()
    page = render_html(Briefing(generated_at="x", articles=[art]))
    assert "/home/someone" not in page and "flood-report.txt" in page


def test_key_facts_cite_a_sentence_once_and_read_as_english():
    b = sample.briefing()
    c3 = b.claims[2]
    labelled = replace(c3, label="hundreds troops")
    twin = replace(labelled, id="c4")  # another claim citing the very same sentence
    b = replace(b, claims=b.claims[:2] + [labelled, twin])
    page = render_html(b)
    facts = page[page.index('id="facts"'):page.index('id="sources"')]
    assert facts.count(c3.text) == 1
    assert "hundreds of troops" in facts and "hundreds troops" not in facts


def test_every_badge_shown_is_explained_in_the_legend():
    page = render_html(sample.briefing(summary=two_stories().summary))
    badges = set(re.findall(r'<span class="badge [a-z]+"[^>]*>([^<]+)</span>', page.split('id="legend"')[0]))
    legend = page[page.index('id="legend"'):]
    explained = set(re.findall(r"<dt><span[^>]*>([^<]+)</span></dt>", legend))
    missing = {b for b in badges if not any(b.startswith(e) or e.startswith(b) for e in explained)}
    assert badges and not missing, missing


# --------------------------------------------------------------------------- in a browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                                            "(apt-get install -y chromium)")

# Measures the layout, then taps the first citation and reports whether its cited words opened.
_PROBE = """<script>
window.addEventListener("load", () => {
  const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; }
    return false; };
  let right = 0, worst = "";
  for (const el of document.querySelectorAll("main *")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > right && !clipped(el)) { right = r.right; worst = el.tagName + "." + el.className; }
  }
  const tip = document.querySelector(".cite .tip");
  const before = getComputedStyle(tip).display;
  document.querySelector(".cite label").click();
  const after = getComputedStyle(tip).display;
  const small = [...document.querySelectorAll("main p, main li, main td")].filter(
    e => e.offsetParent && parseFloat(getComputedStyle(e).fontSize) < 11).map(e => e.tagName + "." + e.className);
  document.body.setAttribute("data-probe", JSON.stringify({right, worst, before, after, small,
    width: document.querySelector("main").getBoundingClientRect().width}));
});
</script>"""


def _browse(tmp_path, page: str, width: int, shot: str) -> dict:
    # Headless windows are at least 500 px wide: narrower layouts are set on the root element.
    narrow = f"<style>html{{width:{width}px}}</style>" if width < 500 else ""
    probe_file = tmp_path / f"probe-{width}.html"
    probe_file.write_text(page.replace("</head>", narrow + "</head>").replace("</body>", _PROBE + "</body>"),
                          encoding="utf-8")
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={max(width, 500)},1800"]
    dom = subprocess.run(args + ["--dump-dom", probe_file.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r'data-probe="([^"]+)"', dom.stdout)
    assert m, dom.stderr[-500:]
    page_file = tmp_path / f"page-{width}.html"
    page_file.write_text(page.replace("</head>", narrow + "</head>"), encoding="utf-8")
    out = tmp_path / shot
    subprocess.run(args + [f"--screenshot={out}", page_file.as_uri()], capture_output=True, timeout=120)
    assert out.is_file() and out.stat().st_size > 20_000  # a real, non-blank page was drawn
    return json.loads(m[1].replace("&quot;", '"'))


@needs_browser
@pytest.mark.parametrize("width", [1400, 400])
def test_page_fits_the_screen_and_citations_open_on_click(tmp_path, width):
    page = render_html(two_stories())
    probe = _browse(tmp_path, page, width, f"briefing-{width}.png")
    assert probe["right"] <= width + 1, probe  # nothing sticks out sideways (tables scroll inside their box)
    assert probe["before"] == "none" and probe["after"] == "block", probe  # a click opens the cited words
    assert probe["small"] == [], probe["small"]  # no text too small to read
    if width == 400:
        assert probe["width"] <= 400
