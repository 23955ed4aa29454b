"""Statement groups and contradictions on the sample corpus; the seeds' core facts with their support.

1. Sample corpus (examples/): stories + provenance, then statement groups per story, scored against
   ``statement_groups`` and ``statement_pairs_not_same`` in examples/ground_truth.json. A gold
   sentence is a substring of a cited sentence (of its article or a verbatim copy of it).
   - pairs: every two cited sentences of one predicted group (different articles, different
     words: verbatim copies are trivially right and left out). A pair is right when one gold
     group holds both, wrong when only one of them is in a gold group or the pair is listed as
     not the same; otherwise unjudged. Recall over the gold groups' pairs.
   - groups: a gold group is found when one predicted group cites all its sentences; a predicted
     group touching a gold group is pure when every judged pair in it is right.
   Contradictions against ``contradictions_in_words`` (kind and both sentences).
2. Seeds (../shared/seeds): the core facts (defined by words they must contain, below), each with
   the independent support of its best group against the support read by hand.

Run: ``python benchmarks/statements.py``.
"""
from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SEEDS = ROOT.parent / "shared" / "seeds"
EXAMPLES = ROOT / "examples"

from _common import print_table  # noqa: E402
from storydesk.analysis.provenance import find_provenance  # noqa: E402
from storydesk.records import Article, Source  # noqa: E402
from storydesk.analysis.statements import group_statements  # noqa: E402
from storydesk.analysis.stories import cluster_articles  # noqa: E402
from storydesk.text import normalise  # noqa: E402

# The seeds' core facts: (name, words a sentence must all contain (any of each tuple), independent
# sources that report it, read by hand: 001 and 004 are one source group (004 rewrites 001)).
SEED_FACTS = [
    ("junta asked Wagner for help", [("Wagner",), ("help", "request")], 2),   # 001/004, 002
    ("ECOWAS deadline to reinstate Bazoum", [("deadline", "ultimatum")], 3),  # 000, 001/004, 003
    ("threat of military intervention", [("interven", "force"), ("ECOWAS", "bloc"), ("threat", "warn", "will")],
     4),  # 000, 001/004, 002, 003
]


def _groups(articles, stories, cache, with_sources: bool = False):
    from storydesk.models.embeddings import embed
    reuse, source_groups, _ = find_provenance(articles, stories, None, cache)
    out = []
    for s in stories:
        out += group_statements(s, articles, source_groups, embed=lambda t: embed(t, cache))
    return (out, source_groups) if with_sources else out


def _cited(by_id, c) -> str:
    return by_id[c.article_id].text[c.span[0]:c.span[1]]


def _gold_of(text: str, gold: list[dict]) -> set[int]:
    return {n for n, w in enumerate(gold) if any(it["text"] in text for it in w["sentences"])}


def _pairs(groups, by_id, gold, not_same):
    """(right, wrong, unjudged, wrong examples) over the predicted groups' pairs."""
    right = wrong = unjudged = 0
    bad = []
    for g in groups:
        for x, y in itertools.combinations(g.citations, 2):
            tx, ty = _cited(by_id, x), _cited(by_id, y)
            if x.article_id == y.article_id or normalise(tx) == normalise(ty):
                continue
            gx, gy = _gold_of(tx, gold), _gold_of(ty, gold)
            listed = any(all(any(it["text"] in t for t in (tx, ty)) for it in p["sentences"]) for p in not_same)
            if gx & gy:
                right += 1
            elif gx or gy or listed:
                wrong += 1
                bad.append((tx, ty))
            else:
                unjudged += 1
    return right, wrong, unjudged, bad


def _recall(groups, by_id, gold):
    found_pairs = total_pairs = 0
    found = []
    cited = [[_cited(by_id, c) for c in g.citations] for g in groups]
    for w in gold:
        items = [it["text"] for it in w["sentences"]]
        if any(all(any(t in x for x in texts) for t in items) for texts in cited):
            found.append(w["about"])
        for a, b in itertools.combinations(items, 2):
            total_pairs += 1
            found_pairs += any(any(a in x for x in texts) and any(b in x for x in texts) for texts in cited)
    return found_pairs, total_pairs, found


def sample(show: bool) -> None:
    from storydesk.ingest import ingest
    from storydesk.analysis.stories import refresh_stories
    from storydesk.store import SQLiteStore
    truth = json.loads((EXAMPLES / "ground_truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(str(Path(tmp) / "s.db")) as store:
        ingest([str(EXAMPLES / "corpus")], store)
        articles = store.articles()
        stories = refresh_stories(store)
    by_id = {a.id: a for a in articles}
    t, c = time.perf_counter(), time.process_time()
    groups = _groups(articles, stories, {})
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    gold, not_same = truth.get("statement_groups", []), truth.get("statement_pairs_not_same", [])
    right, wrong, unjudged, bad = _pairs(groups, by_id, gold, not_same)
    fp, tp, found = _recall(groups, by_id, gold)
    touching = [g for g in groups if any(_gold_of(_cited(by_id, c), gold) for c in g.citations)]
    pure = [g for g in touching if not _pairs([g], by_id, gold, not_same)[1]]
    cw = truth.get("contradictions_in_words", [])
    got = [x for g in groups for x in g.contradictions]

    def match(x, c):
        pair = [_cited(by_id, x.a), _cited(by_id, x.b)]
        return x.kind == c["kind"] and all(any(s["text"] in t for t in pair) for s in c["sentences"])
    hit = [c for c in cw if any(match(x, c) for x in got)]
    ok = [x for x in got if any(match(x, c) for c in cw)]
    print_table(f"Sample corpus: {len(groups)} statement groups in {len(stories)} stories "
                f"({wall:.1f} s wall, {cpu:.1f} CPU-s incl. provenance and models)",
                ["measure", "value", "detail"], [
                    ["pair precision", f"{right / max(1, right + wrong):.3f}", f"{right} right, {wrong} wrong, "
                                                                             f"{unjudged} unjudged"],
                    ["pair recall", f"{fp / max(1, tp):.3f}", f"{fp}/{tp} gold pairs in one group"],
                    ["gold groups found whole", f"{len(found)}/{len(gold)}", ""],
                    ["groups touching gold that are pure", f"{len(pure)}/{len(touching)}", ""],
                    ["contradictions recall", f"{len(hit)}/{len(cw)}",
                     ", ".join(sorted({c['kind'] for c in hit}))],
                    ["contradictions precision", f"{len(ok)}/{len(got)}", ""]])
    if show:
        for w in gold:
            if w["about"] not in found:
                print(f"  missed group: {w['about']}")
        for a, b in bad:
            print(f"  wrong pair: {' '.join(a.split())[:90]!r}\n              {' '.join(b.split())[:90]!r}")
        for c in cw:
            if c not in hit:
                print(f"  missed contradiction: {c['kind']}: {c['note'][:100]}")
        for x in got:
            if x not in ok:
                print(f"  unlisted contradiction: {x.kind} ({x.detail}): {_cited(by_id, x.a)[:70]!r} / "
                      f"{_cited(by_id, x.b)[:70]!r}")


def _states(text: str, words) -> bool:
    low = text.casefold()
    return all(any(w.casefold() in low for w in alts) for alts in words)


def seeds(show: bool) -> None:
    if not SEEDS.is_dir():
        print(f"seeds: skipped ({SEEDS} is absent)")
        return
    arts = []
    for f in sorted(SEEDS.glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        arts.append(Article(id=f.name[:3], source=Source("txt", path=f.name), text=text, language="en"))
    stories = cluster_articles(arts).records()
    by_id = {a.id: a for a in arts}
    groups, sources = _groups(arts, stories, {}, with_sources=True)
    origin = {a: g.origin_id for g in sources for a in g.article_ids}
    rows = []
    for name, words, truth in SEED_FACTS:
        # A group counts for the fact only through its members that state it (a sentence may
        # state two facts and be grouped for the other one).
        stating = [[c.article_id for c in g.citations if _states(_cited(by_id, c), words)] for g in groups]
        best = max(stating, key=lambda ids: len({origin.get(a, a) for a in ids}), default=[])
        rows.append([name, max(1, len({origin.get(a, a) for a in best})), truth, ", ".join(sorted(best)) or "-"])
    print_table(f"Seeds: {len(groups)} statement groups; core facts (best group's independent support)",
                ["fact", "support", "truth", "articles"], rows)
    if show:
        for g in groups:
            print(f"  support {g.independent_support} ({', '.join(c.article_id for c in g.citations)}): "
                  f"{' '.join(g.text.split())[:110]}")


def main() -> None:
    show = "--show" in sys.argv
    if (EXAMPLES / "ground_truth.json").exists():
        sample(show)
    seeds(show)


if __name__ == "__main__":
    main()
