"""Statement groups and contradictions on the sample corpus; the seeds' core facts with their support.

1. Sample corpus (examples/): stories + provenance, then statement groups per story.
   Scored against ``statement_groups`` in examples/ground_truth.json (each lists
   sentences, as substrings of named articles, that say one thing): a gold group is
   found when one predicted group cites all its sentences (recall), and predicted
   groups whose citations all fall inside one gold group or outside every gold group
   are not wrong mergers (precision over groups that touch a gold group).
   Contradictions against ``contradictions_in_words``.
2. Seeds (../shared/seeds): the largest-support statements, each with its
   independent sources (the seeds' core facts: Wagner, the ECOWAS deadline, intervention).

Run: ``python benchmarks/statements.py``.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEEDS = ROOT.parent / "shared" / "seeds"
EXAMPLES = ROOT / "examples"

from storydesk.provenance import find_provenance  # noqa: E402
from storydesk.records import Article, Source  # noqa: E402
from storydesk.statements import group_statements  # noqa: E402
from storydesk.stories import cluster_articles  # noqa: E402


def _groups(articles, stories, cache):
    from storydesk.embed import embed
    reuse, source_groups, _ = find_provenance(articles, stories, None, cache)
    out = []
    for s in stories:
        out += group_statements(s, articles, source_groups, embed=lambda t: embed(t, cache))
    return out


def _cited(by_id, g):
    return [(by_id[c.article_id].title, by_id[c.article_id].text[c.span[0]:c.span[1]]) for c in g.citations]


def sample() -> None:
    from storydesk.ingest import ingest
    from storydesk.stories import refresh_stories
    from storydesk.store import SQLiteStore
    gold = json.loads((EXAMPLES / "ground_truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(str(Path(tmp) / "s.db")) as store:
        ingest([str(EXAMPLES / "corpus")], store)
        articles = store.articles()
        stories = refresh_stories(store)
    by_id = {a.id: a for a in articles}
    t = time.perf_counter()
    groups = _groups(articles, stories, {})
    secs = time.perf_counter() - t

    def holds(g, item):
        return any(title == item["article"] and item["text"] in text for title, text in _cited(by_id, g))

    want = gold.get("statement_groups", [])
    found = [w for w in want if any(all(holds(g, it) for it in w["sentences"]) for g in groups)]
    touching = [g for g in groups if any(holds(g, it) for w in want for it in w["sentences"])]
    pure = [g for g in touching if any(all(any(t == it["article"] and it["text"] in x for it in w["sentences"])
                                           for t, x in _cited(by_id, g)) for w in want)]
    print(f"sample corpus: {len(groups)} statement groups in {len(stories)} stories ({secs:.1f} s incl. model); "
          f"gold groups found {len(found)}/{len(want)}; groups touching a gold group that stay inside it "
          f"{len(pure)}/{len(touching)}")
    for w in want:
        if w not in found:
            print(f"  missed: {w['about']}")
    cw = gold.get("contradictions_in_words", [])
    got = [(g, x) for g in groups for x in g.contradictions]

    def match(x, c):
        pair = {(by_id[x.a.article_id].title, by_id[x.a.article_id].text[x.a.span[0]:x.a.span[1]]),
                (by_id[x.b.article_id].title, by_id[x.b.article_id].text[x.b.span[0]:x.b.span[1]])}
        return x.kind == c["kind"] and all(any(t == s["article"] and s["text"] in txt for t, txt in pair)
                                           for s in c["sentences"])
    hit = [c for c in cw if any(match(x, c) for _, x in got)]
    right = [x for _, x in got if any(match(x, c) for c in cw)]
    print(f"  contradictions in words: recall {len(hit)}/{len(cw)}, precision {len(right)}/{len(got)}")
    for _, x in got:
        if x not in right:
            print(f"  unlisted: {x.kind} ({x.detail}): {by_id[x.a.article_id].text[x.a.span[0]:x.a.span[1]][:80]!r}"
                  f" / {by_id[x.b.article_id].text[x.b.span[0]:x.b.span[1]][:80]!r}")


def seeds() -> None:
    if not SEEDS.is_dir():
        print(f"seeds: skipped ({SEEDS} is absent)")
        return
    arts = []
    for f in sorted(SEEDS.glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        arts.append(Article(id=f.name[:3], source=Source("txt", path=f.name), text=text, language="en"))
    stories = cluster_articles(arts).records()
    groups = _groups(arts, stories, {})
    print(f"\nseeds: {len(groups)} statement groups; by independent support "
          f"{sorted((g.independent_support for g in groups), reverse=True)}")
    for g in groups[:12]:
        print(f"  support {g.independent_support} ({', '.join(sorted({c.article_id for c in g.citations}))}): "
              f"{' '.join(g.text.split())[:110]}")


def main() -> None:
    if (EXAMPLES / "ground_truth.json").exists():
        sample()
    seeds()


if __name__ == "__main__":
    main()
