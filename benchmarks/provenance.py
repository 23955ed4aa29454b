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

from storydesk.provenance import (NearDupIndex, ProvenanceConfig, ProvenanceState,  # noqa: E402
                                  find_provenance, text_jaccard)
from storydesk.records import Article, Source  # noqa: E402
from storydesk.stories import StoryIndex, cluster_articles  # noqa: E402


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
    from storydesk.provenance import update_provenance
    from storydesk.stories import refresh_stories
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
    from storydesk.embed import CACHE_KEY, get_model
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
    from storydesk.stories import StoryIndex
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
    parser.add_argument("--quick", action="store_true", help="seeds and sample corpus only")
    args = parser.parse_args()
    metrics: dict[str, float] = {}
    if SEEDS.is_dir():
        metrics.update(check_seeds())
    else:
        print(f"seeds: skipped ({SEEDS} is absent)")
    metrics.update(check_sample())
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
