"""A small store for the web, search and browser tests, built without the analysis models.

The fictional Brellin story of ``briefing_sample`` is stored with every record kind
filled by hand, and a second story is made of articles that carry injection payloads
(script tags, event handlers, ``javascript:`` URLs, ``</style>``, SVG), ingested
through the real ingest library so they reach the pages the way a user's files would.
Search vectors come from :func:`fake_encoder`, a hashed bag of words, so no model loads.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

import briefing_sample as sample
from storydesk.ingest import ingest
from storydesk.records import Citation, Entity, Mention, Quote, Speaker, Story, SummarySentence
from storydesk.search import update_index
from storydesk.store import open_store

DIM = 64
PAYLOADS = {
    "script": "<script>alert('xss-script')</script>",
    "handler": "<img src=x onerror=alert('xss-handler')>",
    "js_url": "javascript:alert('xss-url')",
    "style": "</style><script>alert('xss-style')</script>",
    "svg": "<svg onload=alert('xss-svg')><circle r=5></circle></svg>",
}


def fake_encoder(texts: list[str]) -> np.ndarray:
    """Hashed bag of words, L2-normalised: similar wording, similar vector (no meaning)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"\w+", text.casefold()):
            out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
        norm = np.linalg.norm(out[i])
        out[i] /= norm if norm else 1.0
    return out


def payload_files(folder: Path) -> list[str]:
    """Files whose text, title, outlet and URL carry the payloads."""
    folder.mkdir(parents=True, exist_ok=True)
    body = (f"Vandals posted {PAYLOADS['script']} on the council notice board of Oskarby on Monday.\n\n"
            f"A second note read {PAYLOADS['handler']} and was signed by nobody at all.\n\n"
            f"Police said a third message, {PAYLOADS['style']}, was found near the Oskarby ferry landing.\n\n"
            f"\"We have never seen {PAYLOADS['svg']} written on a wall here,\" said harbour master Lene Vik.\n\n"
            f"The council asked residents not to open {PAYLOADS['js_url']} links sent by text message.\n\n"
            f"\"Lene Vik saw the first note at dawn,\" a ferry clerk said.")
    (folder / "hostile.txt").write_text(f"title: Oskarby notices {PAYLOADS['handler']}\nsource: Oskarby {PAYLOADS['style']}\n"
                                        f"date: 2031-04-02\n\n{body}\n", encoding="utf-8")
    export = [{"title": f"Ferry notices {PAYLOADS['svg']}", "body": body.replace("Monday", "Tuesday"),
               "url": PAYLOADS["js_url"], "publishedAt": "2031-04-03", "source": "Oskarby Ferry Gazette"}]
    (folder / "export.json").write_text(json.dumps(export), encoding="utf-8")
    return [str(folder / "hostile.txt"), str(folder / "export.json")]


def build(path: str, work: Path) -> dict:
    """Build the store at ``path`` (a SQLite path or a postgresql:// URL); return ids the tests need."""
    b = sample.briefing()
    wire, copy, indep, update, hostile = b.articles
    b.summary = [
        SummarySentence("The Tessaly dam on the Varno river partly collapsed on Tuesday night.",
                        [Citation(wire.id, sample._span(wire, "The Tessaly dam on the Varno river partly collapsed "
                                                               "on Tuesday night"))]),
        SummarySentence("Engineers had warned in January that cracks in the dam's western wall were growing.",
                        [Citation(wire.id, sample._span(wire, "Engineers had warned in January that cracks in the "
                                                               "dam's western wall were growing.")),
                         Citation(indep.id, sample._span(indep, "Engineers had warned in January that cracks in "
                                                                "the dam's western wall were growing."))]),
    ]
    with open_store(path) as store:
        for art in b.articles:
            art.source.format = "text"  # as ingest names it (the schema's enum)
            store.add_article(art, art.text.encode("utf-8"))
        report = ingest(payload_files(work / "payloads"), store)
        payload_ids = [o.article_id for o in report.outcomes if o.status == "added"]
        assert len(payload_ids) == 2, [o.to_dict() for o in report.outcomes]
        payload_story = Story("s-oskarby", f"Oskarby notices {PAYLOADS['script']}", payload_ids,
                              "2031-04-02", "2031-04-03")
        quote_text = f"We have never seen {PAYLOADS['svg']} written on a wall here,"
        first = store.get_article(payload_ids[0])
        start = first.text.index(quote_text)
        name = first.text.index("Lene Vik")
        payload_quote = Quote("q-payload", first.id, (start, start + len(quote_text)), quote_text, "direct", "said",
                              Speaker(f"Lene Vik {PAYLOADS['handler']}", "e-vik", (name, name + 8)))
        about_text = "Lene Vik saw the first note at dawn,"
        about = first.text.index(about_text)
        about_quote = Quote("q-about-vik", first.id, (about, about + len(about_text)), about_text, "direct", "said",
                            Speaker(f"a ferry clerk {PAYLOADS['svg']}"))
        # An entity whose variants, roles and quotes carry the payloads, for the entity page.
        vik = Entity("e-vik", "Lene Vik", "PERSON", [f"Lene Vik {PAYLOADS['handler']}", f"Vik {PAYLOADS['js_url']}"],
                     [f"harbour master {PAYLOADS['style']}"],
                     [Mention(a, sample._span(store.get_article(a), "Lene Vik"), "Lene Vik") for a in payload_ids])
        kinds = {"stories": b.stories + [payload_story], "reuse": b.reuse, "source_groups": b.source_groups,
                 "entities": b.entities + [vik], "quotes": b.quotes + [payload_quote, about_quote], "claims": b.claims,
                 "timeline": b.timeline, "summary": b.summary}
        from storydesk.render import records_for_story
        for kind, records in kinds.items():
            store.delete_records(kind)
            for story in kinds["stories"]:
                mine = records_for_story(records, story.id, set(story.article_ids))
                store.put_records(kind, mine, story_id=story.id)
        update_index(store, encoder=fake_encoder)
    return {"story": "s-brellin", "payload_story": "s-oskarby", "wire": wire.id, "copy": copy.id,
            "indep": indep.id, "update": update.id, "hostile": hostile.id, "payloads": payload_ids,
            "payload_entity": vik.id}
