"""Provenance on the five seed articles, the sample corpus, and its speed on 2 cores.

1. Seeds (../shared/seeds): all five in one story; 001 found as a paraphrase-derived
   copy of 004 (their word 5-gram Jaccard is only ~0.02); no reuse edge between any
   other pair; 4 independent source groups.
2. The fictional sample corpus (examples/, if the lead's ingest is present): reuse
   edges and multi-article source groups against examples/ground_truth.json.
3. Speed (one process): articles/s for clustering + near-duplicates alone and for
   the whole provenance step (sentence embeddings, alignment, judge), on the seeds
   replicated and on ECB+ documents; per-article cost of the provenance step with
   1k vs 20k articles already stored (state persisted and reloaded as in real runs).

Run: ``python benchmarks/provenance.py`` (``--quick``: seeds and sample only).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
ECB = SHARED / "data" / "ecbplus" / "ecbplus_docs.jsonl"
EXAMPLES = ROOT / "examples"

from storydesk.analysis.provenance import (NearDupIndex, ProvenanceConfig, ProvenanceState,  # noqa: E402
                                  find_provenance, text_jaccard)
from storydesk.records import Article, Source  # noqa: E402
from storydesk.analysis.stories import StoryIndex, cluster_articles  # noqa: E402


def seed_articles() -> list[Article]:
    out = []
    for f in sorted(SEEDS.glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        out.append(Article(id=Article.make_id(text, None), source=Source("txt", path=f.name), text=text, language="en"))
    return out


def check_seeds() -> dict[str, float]:
    arts = seed_articles()
    name = {a.id: a.source.path[:3] for a in arts}
    t = time.perf_counter()
    stories = cluster_articles(arts).records()
    reuse, groups, _ = find_provenance(arts, stories)
    secs = time.perf_counter() - t
    by = {name[a.id]: a for a in arts}
    edges = sorted((name[r.source_id], name[r.derived_id], r.kind, r.direction_basis, round(r.coverage, 2),
                    len(r.alignments)) for r in reuse)
    checks = {
        "all five in one story": len(stories) == 1,
        "001 paraphrase-derived from 004": any(e[:3] == ("004", "001", "paraphrase") for e in edges),
        "no other reuse edge": all(e[:2] == ("004", "001") for e in edges),
        "4 independent source groups": len(groups) == 4,
    }
    print(f"seeds: {len(arts)} articles, {len(stories)} story, {len(groups)} source groups ({secs:.1f} s incl. model)")
    print(f"  5-gram Jaccard 001~004: {text_jaccard(by['001'].text, by['004'].text):.3f}")
    for e in edges:
        print(f"  reuse {e[0]} -> {e[1]}: {e[2]}, coverage {e[4]}, {e[5]} aligned sentences, direction by {e[3]}")
    for g in groups:
        print(f"  group origin {name[g.origin_id]}: {sorted(name[i] for i in g.article_ids)}")
    for what, ok in checks.items():
        print(f"  [{'pass' if ok else 'FAIL'}] {what}")
    return {"seeds_passed": sum(checks.values()), "seeds_checks": len(checks)}


def check_sample() -> dict[str, float]:
    try:
        from storydesk.ingest import ingest
    except ImportError:
        print("sample corpus: skipped (storydesk.ingest is not available)")
        return {}
    if not (EXAMPLES / "ground_truth.json").exists():
        print("sample corpus: skipped (examples/ground_truth.json is absent)")
        return {}
    from storydesk.analysis.provenance import update_provenance
    from storydesk.analysis.stories import refresh_stories
    from storydesk.store import SQLiteStore
    gold = json.loads((EXAMPLES / "ground_truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(str(Path(tmp) / "s.db")) as store:
        ingest([str(EXAMPLES / "corpus")], store)
        title = {a.id: a.title for a in store.articles()}
        stories = refresh_stories(store)
        reuse, groups = update_provenance(store)
    got = {(title[r.source_id], title[r.derived_id], r.kind) for r in reuse}
    want = {(e["source"], e["derived"], e["kind"]) for e in gold["reuse"]}
    pairs_got = {frozenset(e[:2]) for e in got}
    pairs_want = {frozenset(e[:2]) for e in want}
    per_story = {}
    for g in groups:
        per_story[g.story_id] = per_story.get(g.story_id, 0) + 1
    print(f"sample corpus: {len(title)} articles, {len(stories)} stories (gold {len(gold['stories'])}), "
          f"independent sources per story {sorted(per_story.values(), reverse=True)} "
          f"(gold {sorted(gold['independent_sources'].values(), reverse=True)})")
    print(f"  reuse edges: {len(got & want)}/{len(want)} exact (source, derived, kind); "
          f"{len(pairs_got & pairs_want)}/{len(pairs_want)} pairs found; {len(pairs_got - pairs_want)} false pairs")
    for e in sorted(got ^ want):
        print(f"  {'extra' if e in got else 'missed'}: {e[0][:40]} -> {e[1][:40]} ({e[2]})")
    return {"sample_edges_exact": len(got & want), "sample_edges_gold": len(want),
            "sample_false_pairs": len(pairs_got - pairs_want)}


# -- independent same-event reports plus copies made from them ---------------------

_BOILERPLATE = ["Advertisement", "Share this article on social media", "Subscribe to our newsletter for the "
                "day's top stories delivered every morning.", "Read more: the week in pictures"]
_SWAPS = {"said": "stated", "police": "officers", "killed": "left dead", "people": "persons", "also": "as well",
          "after": "following", "before": "ahead of", "about": "around", "told": "informed", "began": "started",
          "but": "however", "big": "large", "help": "assist", "city": "town", "show": "reveal"}


def _copy(text: str, kind: str) -> str:
    """A copy of ``text`` made the way outlets reuse copy (deterministic)."""
    from storydesk.text import sentence_spans
    sents = [text[s:e] for s, e in sentence_spans(text)]
    if kind == "boilerplate":  # republished whole, page chrome between paragraphs
        out = []
        for n, sent in enumerate(sents):
            out.append(sent)
            if n % 3 == 2:
                out.append(_BOILERPLATE[(n // 3) % len(_BOILERPLATE)])
        return "\n".join(out)
    if kind == "cut":  # every third sentence deleted
        return " ".join(x for n, x in enumerate(sents) if n % 3 != 2)
    if kind == "reworded":  # light rewording in every sentence, every fourth sentence dropped
        keep = [x for n, x in enumerate(sents) if n % 4 != 3]
        return " ".join(" ".join(_SWAPS.get(w, w) for w in x.split(" ")) for x in keep)
    if kind == "head":  # the first 60 % only, with the outlet's own closing line
        return " ".join(sents[: max(3, int(len(sents) * 0.6))]) + " Reporting by our newsroom staff."
    if kind == "reordered":  # blocks of three sentences moved: every second block first
        blocks = [sents[i:i + 3] for i in range(0, len(sents), 3)]
        return " ".join(x for b in blocks[1::2] + blocks[0::2] for x in b)
    if kind == "excerpt":  # an aggregator's excerpt: the first four sentences and a link line
        return " ".join(sents[:4]) + " Read the full story on our partner site."
    raise ValueError(kind)


COPY_KINDS = ("boilerplate", "cut", "reworded", "head", "reordered", "excerpt")


def copies_corpus(min_words: int = 150, per_event: int = 5, events: int = 28, seed: int = 0):
    """ECB+ reports of one event from different documents (independent unless they share
    text: a later doc with 5-gram Jaccard >= 0.05 or a verbatim sentence with an earlier
    one is left out, so the truth is clean), plus one copy of the first report of each
    event made by one of :data:`COPY_KINDS` in turn. Returns (articles, stories, truth)
    where truth maps every article id to the id of the report it comes from."""
    from storydesk.records import Story
    from storydesk.text import normalise, sentence_spans
    with ECB.open(encoding="utf-8") as f:
        # ECB+ is tokenised: a quotation closes with two apostrophes; give it back its mark.
        docs = [{**d, "text": d["text"].replace(" ''", '"').replace("''", '"')}
                for d in map(json.loads, f) if len(d["text"].split()) >= min_words]
    by_event: dict[str, list[dict]] = {}
    for d in docs:
        kept = by_event.setdefault(d["subtopic"], [])
        sents = {normalise(d["text"][s:e]) for s, e in sentence_spans(d["text"])}
        if len(kept) < per_event and all(text_jaccard(d["text"], k["text"]) < 0.05 and
                                         not sents & {normalise(k["text"][s:e]) for s, e in
                                                      sentence_spans(k["text"])} for k in kept):
            kept.append(d)
    chosen = sorted((e for e, v in by_event.items() if len(v) >= 3), key=str)
    random.Random(seed).shuffle(chosen)
    articles, stories, truth = [], [], {}
    for n, event in enumerate(sorted(chosen[:events], key=str)):
        members = []
        for k, d in enumerate(by_event[event]):
            a = Article(id=f"{d['doc_id']}", source=Source("bench"), text=d["text"], title=d.get("title"),
                        outlet=f"Outlet {k}", published=f"2024-01-{1 + n:02d}T{8 + k:02d}:00:00", language="en")
            members.append(a)
            truth[a.id] = a.id
        kind = COPY_KINDS[n % len(COPY_KINDS)]
        orig = members[0]
        c = Article(id=f"{orig.id}~{kind}", source=Source("bench"), text=_copy(orig.text, kind), title=orig.title,
                    outlet="Copy Desk", published=f"2024-01-{2 + n:02d}T09:00:00", language="en")
        members.append(c)
        truth[c.id] = orig.id
        articles += members
        stories.append(Story(id=f"s-{event}", label=event, article_ids=[a.id for a in members]))
    return articles, stories, truth


def score_copies(reuse, groups, stories, truth) -> dict[str, float]:
    """Reuse-edge precision/recall and independent sources per story against the truth."""
    copies = {a for a, o in truth.items() if a != o}
    got = {frozenset((r.source_id, r.derived_id)) for r in reuse}
    right = {e for e in got if len({truth[x] for x in e}) == 1}
    found = {c for c in copies if frozenset((c, truth[c])) in got}
    direction = sum(1 for r in reuse if r.derived_id in copies and r.source_id == truth[r.derived_id])
    n_groups: dict[str, int] = {}
    for g in groups:
        n_groups[g.story_id] = n_groups.get(g.story_id, 0) + 1
    exact = sum(1 for s in stories if n_groups.get(s.id, 0) == len({truth[a] for a in s.article_ids}))
    unrelated = sum(1 for s in stories for n, a in enumerate(s.article_ids) for b in s.article_ids[:n]
                    if truth[a] != truth[b])
    return {"edges": len(got), "edge_p": len(right) / len(got) if got else 1.0, "edge_r": len(found) / len(copies),
            "direction_right": direction, "copies": len(copies), "false_edges": len(got - right), "unrelated_pairs": unrelated,
            "stories_count_exact": exact, "stories": len(stories)}


def check_copies(show: bool = False) -> dict[str, float]:
    if not ECB.exists():
        print(f"copies: skipped ({ECB} is absent)")
        return {}
    articles, stories, truth = copies_corpus()
    by = {a.id: a for a in articles}
    t, c = time.perf_counter(), time.process_time()
    reuse, groups, _ = find_provenance(articles, stories, ProvenanceState(), {})
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    m = score_copies(reuse, groups, stories, truth)
    print(f"copies: {len(articles) - m['copies']} independent ECB+ reports of {len(stories)} events + "
          f"{m['copies']} copies ({', '.join(COPY_KINDS)} in turn); {secs:.0f} s wall, {cpu:.0f} s CPU")
    print(f"  reuse edges: {m['edges']}, precision {m['edge_p']:.3f} ({m['false_edges']} false among "
          f"{m['unrelated_pairs']} pairs of different origin), recall "
          f"{m['edge_r']:.3f}; direction right {m['direction_right']}/{m['copies']}; independent-source count "
          f"exact in {m['stories_count_exact']}/{m['stories']} stories")
    for r in reuse:
        wrong = len({truth[r.source_id], truth[r.derived_id]}) > 1
        if wrong or show:
            print(f"  {'FALSE ' if wrong else ''}{r.source_id} -> {r.derived_id}: {r.kind}, coverage "
                  f"{r.coverage:.2f}, {len(r.alignments)} aligned")
            if wrong and show:
                for al in r.alignments:
                    print(f"      {by[r.source_id].text[slice(*al.source_span)][:110]!r}\n"
                          f"    ~ {by[r.derived_id].text[slice(*al.derived_span)][:110]!r} ({al.similarity})")
    return {f"copies_{k}": v for k, v in m.items()}


def perturbed(texts: list[tuple[str, str]], n: int, seed: int = 1) -> list[Article]:
    """``n`` articles cycling over ``texts`` (title, text); each cycle renamed into new
    events of the same kind (benchmarks/stories.py ``renamed``)."""
    from stories import renamed
    rng = random.Random(seed)
    return [renamed(*texts[i % len(texts)], i // len(texts), rng, f"b{seed}-{i}") for i in range(n)]


def ecb_texts() -> list[tuple[str, str]]:
    with ECB.open(encoding="utf-8") as f:
        return [(d.get("title") or "", d["text"]) for d in map(json.loads, f)]


def speed_cluster_dups(arts: list[Article], label: str) -> float:
    index, dups = StoryIndex(), NearDupIndex()
    t = time.perf_counter()
    for a in arts:
        index.add(a)
        dups.add(a)
    rate = len(arts) / (time.perf_counter() - t)
    print(f"  {label}: clustering + near-duplicates {rate:,.0f} articles/s ({len(arts)} articles, "
          f"{len(index.stories)} stories, {len(dups.pairs)} duplicate links)")
    return rate


def speed_provenance(arts: list[Article], label: str, cfg=None) -> float:
    from storydesk.models.embeddings import CACHE_KEY, get_model
    get_model()  # load outside the timing
    cache: dict = {}
    t = time.perf_counter()
    stories = cluster_articles(arts).records()
    reuse, groups, state = find_provenance(arts, stories, ProvenanceState(cfg), cache)
    secs = time.perf_counter() - t
    rate = len(arts) / secs
    print(f"  {label}: whole step (stories + provenance) {rate:,.2f} articles/s ({len(arts)} articles, "
          f"{len(reuse)} reuse edges, {len(state.aligned)} pairs aligned, "
          f"{len(cache.get(CACHE_KEY, {}))} texts embedded = {len(cache.get(CACHE_KEY, {})) / secs:,.0f}/s)")
    return rate


def incremental_cost(base: list[Article], probe: list[Article], sizes=(1000, 20_000)) -> dict[int, float]:
    """Seconds per new article for the provenance step (state reload + new work + save)
    when ``size`` articles are already stored. The stored part is built copy-only
    (fast); the probe articles get the full paraphrase-aware step."""
    from storydesk.analysis.stories import StoryIndex
    out = {}
    for size in sizes:
        stored = base[:size]
        sindex = cluster_articles(stored)
        state = ProvenanceState(ProvenanceConfig(paraphrase=False))
        find_provenance(stored, sindex.records(), state)
        blob, sblob = state.dumps(), sindex.dumps()
        cache: dict = {}
        t = time.perf_counter()
        sindex = StoryIndex.loads(sblob)
        for a in probe:
            sindex.add(a)
        full = ProvenanceState.loads(blob, ProvenanceConfig())
        touched = {sindex.assigned[a.id] for a in probe}
        stories = [s for s in sindex.records() if s.id in touched]
        find_provenance(stored + probe, stories, full, cache)
        full.dumps()
        out[size] = (time.perf_counter() - t) / len(probe)
        print(f"  provenance step for {len(probe)} new articles with {size:>6,} stored: "
              f"{out[size] * 1000:,.0f} ms per new article (state {len(blob) / 1e6:.1f} MB + "
              f"stories {len(sblob) / 1e6:.1f} MB, reloaded and saved in the timing)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seeds, sample corpus and copies only")
    parser.add_argument("--show", action="store_true", help="print every reuse edge of the copies set")
    args = parser.parse_args()
    metrics: dict[str, float] = {}
    if SEEDS.is_dir():
        metrics.update(check_seeds())
    else:
        print(f"seeds: skipped ({SEEDS} is absent)")
    metrics.update(check_sample())
    metrics.update(check_copies(args.show))
    if args.quick:
        return
    print("\nspeed (one process on a 2-core machine shared with other work):")
    if SEEDS.is_dir():
        seeds = [(a.source.path, a.text) for a in seed_articles()]
        speed_cluster_dups(perturbed(seeds, 2000), "seeds x400, perturbed")
        speed_provenance(perturbed(seeds, 50), "seeds x10, perturbed")
    if ECB.exists():
        texts = ecb_texts()
        metrics["cluster_dups_per_s"] = speed_cluster_dups(perturbed(texts, 5000), "ECB+ 5,000 (982 docs, perturbed)")
        metrics["provenance_per_s"] = speed_provenance(perturbed(texts[:100], 100, seed=3), "ECB+ first 100 docs")
        base = perturbed(texts, 20_000, seed=5)
        probe = perturbed(texts[:20], 20, seed=7)
        cost = incremental_cost(base, probe)
        print(f"  cost ratio 20k/1k: {cost[20_000] / cost[1000]:.2f} (target within 2x)")
    else:
        print(f"  ECB+ speed: skipped ({ECB} is absent)")
    print("metrics:", json.dumps({k: round(v, 3) for k, v in metrics.items()}))


if __name__ == "__main__":
    main()
