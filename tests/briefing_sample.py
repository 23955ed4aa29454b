"""A small fictional story (written for these tests) and a hand-made Briefing around it.

Nothing here comes from a real article: the places, people and outlets are invented.
"""
from __future__ import annotations

from storydesk.records import (Alignment, Article, Briefing, Citation, Claim, Entity, Flag, Mention, Quote,
                               QuoteMatch, Reuse, Source, SourceGroup, Speaker, Story, TimelineEvent)

WIRE = (
    "BRELLIN (Harbor Wire) - The Tessaly dam on the Varno river partly collapsed on Tuesday night, "
    "flooding the lower districts of Brellin and forcing about 3,000 residents from their homes.\n"
    "Emergency crews evacuated two hospitals before the water reached the old market, the regional "
    "governor's office said on Wednesday.\n"
    "\"We had less than an hour to move everyone, and we did it,\" said Governor Ilse Marquand, who "
    "visited a shelter in the upper town.\n"
    "At least four people were killed, according to the fire service.\n"
    "Engineers had warned in January that cracks in the dam's western wall were growing.\n"
    "The national water agency said it would open an inquiry into the maintenance of the dam."
)

COPY = (
    "The Tessaly dam on the Varno river partly collapsed on Tuesday night, flooding the lower districts "
    "of Brellin and forcing about 3,000 residents from their homes.\n"
    "Emergency crews evacuated two hospitals before the water reached the old market, the regional "
    "governor's office said on Wednesday.\n"
    "\"We had less than an hour to move everyone, and we did it,\" said Governor Ilse Marquand, who "
    "visited a shelter in the upper town.\n"
    "At least four people were killed, according to the fire service.\n"
    "Subscribe to our newsletter for more local news."
)

INDEPENDENT = (
    "Floodwater from the broken Tessaly dam covered much of lower Brellin on Wednesday, a day after the "
    "structure partly collapsed on Tuesday night.\n"
    "Firefighters said six people had died, a higher toll than the four reported earlier by officials.\n"
    "\"We had less than an hour to move everyone,\" Governor Ilse Marquand told reporters, adding that "
    "the evacuation of two hospitals had saved lives.\n"
    "Residents of the riverside streets said the water rose within minutes.\n"
    "Engineers had warned in January that cracks in the dam's western wall were growing.\n"
    "It is not clear when people will be allowed to return."
)

UPDATE = (
    "Brellin began pumping water out of its lower districts on Friday, three days after the Tessaly dam "
    "partly collapsed.\n"
    "The national water agency opened a formal inquiry on Thursday into how the dam was maintained.\n"
    "\"Nobody will be allowed back until every building has been checked,\" the fire service's chief, "
    "Tomas Renk, said on Friday.\n"
    "The regional government said it would pay for temporary housing for up to 3,000 residents.\n"
    "Governor Ilse Marquand said the inquiry should report within a month."
)

HOSTILE = (
    "Locals shared videos of the flooded market <script>alert('x')</script> on social media on Wednesday.\n"
    "Some residents said the warning sirens in the lower districts did not sound at all.\n"
    "<b>Read more</b> about the flood here.\n"
    "ok."
)


def _article(text: str, outlet: str, title: str, published: str | None, **extra) -> Article:
    return Article(id=Article.make_id(text, outlet), source=Source(format="txt", path=f"{outlet}.txt"),
                   text=text, title=title, outlet=outlet, published=published,
                   published_basis="metadata" if published else "unknown", language="en", **extra)


def articles() -> list[Article]:
    """Five fictional articles: a wire story, a copy of it, an independent report, an update, a hostile one."""
    return [
        _article(WIRE, "Harbor Wire", "Dam collapse floods Brellin, thousands evacuated", "2031-03-15",
                 wire="Harbor Wire"),
        _article(COPY, "Daily Lantern", "Thousands flee as Tessaly dam gives way", "2031-09-02",
                 flags=[Flag("date_mismatch", "stated 2031-09-02, but it tells the collapse of 14 March as news")]),
        _article(INDEPENDENT, "Coastline Post", "Brellin under water after dam failure", "2031-03-15"),
        _article(UPDATE, "Evening Ledger", "Brellin starts pumping as dam inquiry opens", "2031-03-18"),
        _article(HOSTILE, "Brellin <Blog>", "Videos: <i>the flood</i>", None),
    ]


def _span(article: Article, phrase: str) -> tuple[int, int]:
    start = article.text.index(phrase)
    return (start, start + len(phrase))


def briefing(summary=None) -> Briefing:
    """A full Briefing over :func:`articles` with every section filled by hand."""
    wire, copy, indep, update, hostile = arts = articles()
    story = Story(id="s-brellin", label="Tessaly dam collapse floods Brellin",
                  article_ids=[a.id for a in arts], first_seen="2031-03-15", last_seen="2031-03-18")
    groups = [SourceGroup(story.id, wire.id, [wire.id, copy.id])] + [
        SourceGroup(story.id, a.id, [a.id]) for a in (indep, update, hostile)]
    collapse = "partly collapsed on Tuesday night"
    reuse = [Reuse(wire.id, copy.id, "near_verbatim", 0.8, "wire_credit",
                   [Alignment(_span(wire, "The Tessaly dam"), _span(copy, "The Tessaly dam"), 1.0)])]
    marquand = Entity("e1", "Ilse Marquand", "PERSON", ["Governor Ilse Marquand", "Marquand"], ["governor"],
                      [Mention(a.id, _span(a, "Ilse Marquand"), "Ilse Marquand") for a in (wire, copy, indep, update)])
    renk = Entity("e2", "Tomas Renk", "PERSON", ["Renk"], ["fire service chief"],
                  [Mention(update.id, _span(update, "Tomas Renk"), "Tomas Renk")])
    brellin = Entity("e3", "Brellin", "GPE", [], [], [Mention(a.id, _span(a, "Brellin"), "Brellin")
                                                     for a in (wire, copy, indep, update)])
    agency = Entity("e4", "national water agency", "ORG", ["water agency"], [],
                    [Mention(a.id, _span(a, "national water agency"), "national water agency") for a in (wire, update)])
    q_full = "We had less than an hour to move everyone, and we did it,"
    q_short = "We had less than an hour to move everyone,"
    quotes = [
        Quote("q1", wire.id, _span(wire, q_full), q_full, "direct", "said",
              Speaker("Governor Ilse Marquand", "e1", _span(wire, "Governor Ilse Marquand")),
              [QuoteMatch("q2", "identical"), QuoteMatch("q3", "truncated", "- and we did it")]),
        Quote("q2", copy.id, _span(copy, q_full), q_full, "direct", "said",
              Speaker("Governor Ilse Marquand", "e1", _span(copy, "Governor Ilse Marquand")),
              [QuoteMatch("q1", "identical")]),
        Quote("q3", indep.id, _span(indep, q_short), q_short, "direct", "told",
              Speaker("Governor Ilse Marquand", "e1", _span(indep, "Governor Ilse Marquand")),
              [QuoteMatch("q1", "truncated", "- and we did it")]),
        Quote("q4", update.id, _span(update, "Nobody will be allowed back until every building has been checked,"),
              "Nobody will be allowed back until every building has been checked,", "direct", "said",
              Speaker("Tomas Renk", "e2", _span(update, "Tomas Renk")), [],
              [Flag("single_source", "only the Evening Ledger")]),
        Quote("q5", hostile.id, _span(hostile, "the warning sirens in the lower districts did not sound at all"),
              "the warning sirens in the lower districts did not sound at all", "indirect", "said",
              Speaker("Some residents"), [QuoteMatch("q1", "speaker_mismatch", "residents vs Governor")],
              [Flag("low_confidence", "speaker is unnamed")]),
    ]
    claims = [
        Claim("c1", "At least four people were killed.",
              [Citation(wire.id, _span(wire, "At least four people were killed")),
               Citation(copy.id, _span(copy, "At least four people were killed"))], 1, ["c2"]),
        Claim("c2", "Six people died.", [Citation(indep.id, _span(indep, "six people had died"))], 1, ["c1"],
              [Flag("single_source")]),
        Claim("c3", "About 3,000 residents were forced from their homes.",
              [Citation(wire.id, _span(wire, "forcing about 3,000 residents from their homes")),
               Citation(copy.id, _span(copy, "forcing about 3,000 residents from their homes"))], 1),
    ]
    timeline = [
        TimelineEvent("2031-01", "month", "Engineers warned that cracks in the dam's western wall were growing.",
                      [Citation(wire.id, _span(wire, "Engineers had warned in January")),
                       Citation(indep.id, _span(indep, "Engineers had warned in January"))]),
        TimelineEvent("2031-03-14", "day", "The Tessaly dam partly collapsed, flooding lower Brellin.",
                      [Citation(a.id, _span(a, collapse)) for a in (wire, copy, indep)]),
        TimelineEvent("2031-03-15", "day", "Two hospitals were evacuated; the governor visited a shelter.",
                      [Citation(wire.id, _span(wire, "Emergency crews evacuated two hospitals"))]),
        TimelineEvent("2031-03-16", "day", "The national water agency opened a formal inquiry.",
                      [Citation(update.id, _span(update, "opened a formal inquiry on Thursday"))]),
        TimelineEvent("2031-03-17", "day", "Brellin began pumping water out of its lower districts.",
                      [Citation(update.id, _span(update, "began pumping water"))]),
        TimelineEvent("", "unknown", "Residents said the warning sirens did not sound.",
                      [Citation(hostile.id, _span(hostile, "the warning sirens"))]),
    ]
    return Briefing(generated_at="2031-03-19T08:00:00+00:00", articles=arts, stories=[story], reuse=reuse,
                    source_groups=groups, entities=[marquand, renk, brellin, agency], quotes=quotes,
                    claims=claims, timeline=timeline, summary=summary or [])
