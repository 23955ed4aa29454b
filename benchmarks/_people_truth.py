"""Score entities and quotes against examples/ground_truth.json and the seeds (helpers for the benchmarks)."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _norm(text: str) -> str:
    from storydesk.text import normalise

    return re.sub(r"[^\w ]+", "", normalise(text)).strip()


def sample_analysis():
    """Ingest the sample corpus into a temporary store and run entities + quotes (None if unavailable)."""
    import tempfile

    try:
        from storydesk.ingest import ingest
    except ImportError:
        print("skip: storydesk.ingest is not available")
        return None
    from storydesk import pipeline  # noqa: F401
    from storydesk.analysis import entities, quotes  # noqa: F401  (registers the stages)
    from storydesk.store import SQLiteStore

    tmp = tempfile.mkdtemp()
    store = SQLiteStore(str(Path(tmp) / "sample.db"))
    ingest([str(EXAMPLES / "corpus")], store, progress=False)
    names = ["entities", "quotes"]
    if "stories" in pipeline.REGISTRY:
        names = ["stories"] + names
    return pipeline.run(store, names)


def score_sample(analysis) -> dict:
    """Quote speakers, integrity cases, entity variants and must-not-merge pairs vs the ground truth."""
    truth = json.loads((EXAMPLES / "ground_truth.json").read_text(encoding="utf-8"))
    by_title = {(a.title or "").strip(): a for a in analysis.articles}
    ents = analysis.results["entities"]
    quotes = analysis.results["quotes"]
    names = {e.id: e.name for e in ents}

    found = speaker_ok = 0
    misses = []
    for g in truth["quotes"]:
        art = by_title.get(g["article"].strip())
        cands = [q for q in quotes if art and q.article_id == art.id and _norm(g["text"])[:60] in _norm(q.text)
                 or art and q.article_id == art.id and _norm(q.text) and _norm(q.text) in _norm(g["text"])]
        if not cands:
            misses.append(("missed", g["article"][:30], g["text"][:50]))
            continue
        found += 1
        q = cands[0]
        who = names.get(q.speaker.entity_id, q.speaker.text) if q.speaker else ""
        if q.speaker and (_norm(g["speaker"]) in _norm(who) or _norm(who) in _norm(g["speaker"]) and who):
            speaker_ok += 1
        else:
            misses.append(("speaker", g["text"][:40], g["speaker"], who))
    integ_ok = 0
    for case in truth["quote_integrity"]:
        art = by_title.get(case["article"].strip())
        src = by_title.get(case["source_article"].strip())
        ok = False
        for q in quotes:
            if art and src and q.article_id == art.id and _norm(case["text"])[:40] in _norm(q.text):
                for m in q.matches:
                    other = next((x for x in quotes if x.id == m.quote_id), None)
                    if m.relation == case["relation"] and (m.quote_id == src.id or (other and other.article_id == src.id)):
                        ok = True
        integ_ok += ok
        if not ok:
            misses.append(("integrity", case["relation"], case["text"][:50]))
    # Entities: every ground-truth variant found should land in one entity; must-not-merge never together.
    variant_ok = variant_total = typed_ok = typed_total = 0
    types = {e.id: e.type for e in ents}
    shared_forms = Counter(f for ge in truth["entities"] for f in {_norm(v) for v in ge["variants"]})
    for ge in truth["entities"]:
        homes = set()
        for v in ge["variants"]:
            if shared_forms[_norm(v)] > 1:
                continue  # "Dorne" names two people: no single right home
            k = _norm(v)
            # A listed variant may carry a title the entity keeps as a role ("Mayor Gideon Holt").
            hits = [e.id for e in ents if any(_norm(x) == k or (" " in _norm(x) and k.endswith(" " + _norm(x)))
                                              for x in [e.name] + e.variants)]
            if hits:
                homes.add(hits[0])
        if len(homes) == 1:
            typed_total += 1
            got = types[next(iter(homes))]
            typed_ok += got == ge["type"]
            if got != ge["type"]:
                misses.append(("typed", ge["name"], ge["type"], got))
        variant_total += 1
        variant_ok += len(homes) == 1
        if len(homes) > 1:
            misses.append(("split", ge["name"], sorted(names[h] for h in homes)))
        elif not homes:
            misses.append(("not found", ge["name"], ge["type"]))
    bad_merges = 0
    for a, b in truth["must_not_merge"]:
        for e in ents:
            forms = {_norm(x) for x in [e.name] + e.variants}
            if _norm(a) in forms and _norm(b) in forms:
                bad_merges += 1
                misses.append(("merged", a, b))
    return {"quotes_gold": len(truth["quotes"]), "quotes_found": found, "speaker_correct": speaker_ok,
            "integrity_gold": len(truth["quote_integrity"]), "integrity_found": integ_ok,
            "entities_gold": variant_total, "entities_not_split": variant_ok,
            "typed_total": typed_total, "typed_correct": typed_ok,
            "must_not_merge": len(truth["must_not_merge"]), "wrong_merges": bad_merges, "misses": misses}


def seed_analysis():
    """Entities + quotes over the five seed articles read from ../shared/seeds (None if absent)."""
    seeds = ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():
        print("skip: ../shared/seeds is absent")
        return None
    from storydesk.analysis import entities, quotes
    from storydesk.pipeline import Analysis
    from storydesk.records import Article, Source
    from storydesk.store import SQLiteStore

    articles = []
    for path in sorted(seeds.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        articles.append(Article(id=Article.make_id(text, path.name[:3]), source=Source(format="text", path=path.name),
                                text=text, outlet=path.name[:3]))
    analysis = Analysis(store=SQLiteStore(":memory:"), articles=articles)
    analysis.results["entities"] = entities.extract(analysis)
    analysis.results["quotes"] = quotes.extract(analysis)
    return analysis


def seed_integrity(analysis) -> list[list]:
    """Rows (seed, relation, speaker, quote, other seed) for every cross-outlet match in the seeds."""
    outlet = {a.id: a.outlet for a in analysis.articles}
    article_of = {q.id: q.article_id for q in analysis.results["quotes"]} | {a.id: a.id for a in analysis.articles}
    rows = []
    for q in analysis.results["quotes"]:
        for m in q.matches:
            who = q.speaker.text if q.speaker else "-"
            rows.append([outlet[q.article_id], m.relation, who, q.text[:60], outlet[article_of[m.quote_id]]])
    return rows
