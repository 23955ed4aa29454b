"""Claims (figures across sources): conflict detection, grouping, support and speed.

1. The fictional sample corpus (examples/): ingest it, run stories + provenance
   (+ dating when available) + claims, and score against examples/ground_truth.json:
   - conflict precision / recall over article pairs ``(article, value) vs (article, value)``
     from ``conflicts`` (recall also over the pairs between English articles only: the
     French article is out of scope by design);
   - false alarms: predicted conflict pairs between two values that ``not_conflicts``
     lists as compatible (different scope, date or event);
   - grouping: pairs of articles that state the same value of one ground-truth
     quantity and end up cited by the same claim;
   - support: claims whose ``independent_support`` equals the number of ground-truth
     source groups among the articles they cite.
2. Speed of the claims stage alone (one process): the sample corpus repeated, the five
   seed articles and the 982 ECB+ documents (both from ../shared, skipped when absent).

Run: ``python benchmarks/claims.py`` (``--quick``: the sample corpus only).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"

from _common import print_table  # noqa: E402
from storydesk.analysis import claims as claimsmod  # noqa: E402
from storydesk.pipeline import Analysis  # noqa: E402
from storydesk.records import Article, Source, Story  # noqa: E402
from storydesk.store import SQLiteStore  # noqa: E402


# --------------------------------------------------------------------------- sample corpus
def analyse_sample(db: str) -> tuple[Analysis, list[str]]:
    """Ingest the sample corpus and run the stages that exist; return the analysis and what ran."""
    from storydesk.ingest import ingest
    from storydesk import pipeline

    store = SQLiteStore(db)
    ingest([str(EXAMPLES / "corpus")], store)
    names = []
    for module, stage_names in (("stories", ["stories"]), ("provenance", ["provenance"]), ("timeline", ["dating"])):
        try:
            __import__(f"storydesk.{module}")
            names += stage_names
        except Exception as exc:  # another contributor's module may not be ready
            print(f"note: storydesk.{module} not importable ({exc!r}); running without it")
    if "stories" in names and "provenance" in names:
        return pipeline.run(store, names + ["claims"]), names
    analysis = Analysis(store=store, articles=store.articles())
    analysis.results.update({"stories": [], "source_groups": []})
    analysis.results["claims"] = claimsmod.extract_claims(analysis)
    return analysis, names


def predicted_pairs(analysis: Analysis) -> set[frozenset]:
    """Conflicting (article id, value) pairs implied by the claims' ``conflicts``."""
    figures = analysis.cache[claimsmod.FIGURES_CACHE]
    by_id = {c.id: c for c in analysis.results["claims"]}
    pairs = set()
    for c in by_id.values():
        for other in c.conflicts:
            for a in figures[c.id]:
                for b in figures[other]:
                    if a.article_id != b.article_id:
                        pairs.add(frozenset({(a.article_id, a.value), (b.article_id, b.value)}))
    return pairs


def truth_pairs(groups: list[dict], key_to_id: dict[str, str]) -> set[frozenset]:
    out = set()
    for g in groups:
        vals = [(key_to_id[v["article"]], float(v["value"])) for v in g["values"]]
        for i, a in enumerate(vals):
            for b in vals[i + 1:]:
                if a[0] != b[0] and a[1] != b[1]:
                    out.add(frozenset({a, b}))
    return out


def same_value_pairs(truth: dict, key_to_id: dict[str, str], english: set[str]) -> set[frozenset]:
    """Pairs of English articles that state the same value of one ground-truth quantity."""
    out = set()
    for g in truth["conflicts"] + truth["not_conflicts"]:
        by_value = defaultdict(set)
        for v in g["values"]:
            aid = key_to_id[v["article"]]
            if aid in english:
                by_value[(float(v["value"]), v.get("date"), v.get("scope"))].add(aid)
        for ids in by_value.values():
            ids = sorted(ids)
            out |= {frozenset({a, b}) for i, a in enumerate(ids) for b in ids[i + 1:]}
    return out


def score_sample() -> dict[str, float]:
    truth = json.loads((EXAMPLES / "ground_truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        analysis, ran = analyse_sample(str(Path(tmp) / "sample.db"))
        pipeline_s = time.perf_counter() - t
        articles = analysis.articles
        key_to_id = {a.title: a.id for a in articles}
        missing = [g["article"] for grp in truth["conflicts"] + truth["not_conflicts"] for g in grp["values"]
                   if g["article"] not in key_to_id]
        if missing:
            print(f"skip: articles not ingested under their ground-truth titles: {sorted(set(missing))[:3]}")
            return {}
        english = {a.id for a in articles if a.language == "en"}
        gold = truth_pairs(truth["conflicts"], key_to_id)
        gold_en = {p for p in gold if all(aid in english for aid, _ in p)}
        benign = truth_pairs(truth["not_conflicts"], key_to_id) - gold
        pred = predicted_pairs(analysis)
        tp = pred & gold
        claims = analysis.results["claims"]
        cited = [{c.article_id for c in cl.citations} for cl in claims]
        figures = analysis.cache[claimsmod.FIGURES_CACHE]
        cited_all = [{f.article_id for f in figures[cl.id]} for cl in claims]
        same = same_value_pairs(truth, key_to_id, english)
        grouped = {p for p in same if any(p <= ids for ids in cited_all)}
        group_of = {key_to_id[k]: i for i, g in enumerate(truth["source_groups"]) for k in g["keys"]}
        support_ok = sum(cl.independent_support == len({group_of.get(a, a) for a in ids})
                         for cl, ids in zip(claims, cited))
        # Timing of the claims stage alone, repeated so the figure is stable.
        reps = 20
        t = time.perf_counter()
        for _ in range(reps):
            analysis.cache.pop(claimsmod.FIGURES_CACHE, None)
            claimsmod.extract_claims(analysis)
        per_run = (time.perf_counter() - t) / reps

    metrics = {
        "conflict_precision": len(tp) / len(pred) if pred else 0.0,
        "conflict_recall": len(tp) / len(gold) if gold else 0.0,
        "conflict_recall_en": len(tp & gold_en) / len(gold_en) if gold_en else 0.0,
        "false_alarms_not_conflicts": len(pred & benign),
        "grouping_recall": len(grouped) / len(same) if same else 0.0,
        "support_agreement": support_ok / len(claims) if claims else 0.0,
    }
    print_table("Claims on the sample corpus (examples/ground_truth.json)", ["metric", "value", "detail"], [
        ["conflict precision (primary)", metrics["conflict_precision"], f"{len(tp)}/{len(pred)} predicted pairs"],
        ["conflict recall", metrics["conflict_recall"], f"{len(tp)}/{len(gold)} gold pairs (incl. French)"],
        ["conflict recall, English only", metrics["conflict_recall_en"], f"{len(tp & gold_en)}/{len(gold_en)}"],
        ["false alarms on not_conflicts", metrics["false_alarms_not_conflicts"], f"of {len(benign)} benign pairs"],
        ["same-value grouping recall", metrics["grouping_recall"], f"{len(grouped)}/{len(same)} article pairs"],
        ["support = gold source groups", metrics["support_agreement"], f"{support_ok}/{len(claims)} claims"],
        ["claims", len(claims), f"{sum(bool(c.conflicts) for c in claims)} in conflict, "
                                f"{sum(c.independent_support > 1 for c in claims)} with 2+ sources"],
        ["stages run", "+".join(ran + ["claims"]), f"pipeline {pipeline_s:.1f}s"],
        ["claims stage speed", len(articles) / per_run, f"articles/s ({per_run * 1000:.1f} ms per run, "
                                                        f"{len(articles)} articles)"],
    ])
    for cl in claims:
        for f in cl.flags:
            if f.kind == "conflict":
                print(f"  conflict: {f.detail}  [{cl.id}]")
    return metrics


# --------------------------------------------------------------------------- speed on ../shared
def _analysis(articles: list[Article], stories: list[Story], db: str) -> Analysis:
    analysis = Analysis(store=SQLiteStore(db), articles=articles)
    analysis.results.update({"stories": stories, "source_groups": [], "date_checks": []})
    return analysis


def speed_shared() -> None:
    rows = []
    seeds = SHARED / "seeds"
    ecb = SHARED / "data" / "ecbplus" / "ecbplus_docs.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        if seeds.is_dir():
            arts = [Article(id=Article.make_id(f.read_text(encoding="utf-8"), f.name), source=Source("txt", path=f.name),
                            text=f.read_text(encoding="utf-8"), language="en") for f in sorted(seeds.glob("*.txt"))]
            story = [Story(id="seeds", label="seeds", article_ids=[a.id for a in arts])]
            rows.append(_time_run("seeds (5, one story)", _analysis(arts, story, str(Path(tmp) / "s.db")), 20))
        else:
            print(f"skip: {seeds} is absent (../shared is not part of the repository)")
        if ecb.is_file():
            arts, members = [], defaultdict(list)
            for line in ecb.read_text(encoding="utf-8").splitlines():
                d = json.loads(line)
                a = Article(id=f"a{d['doc_id']}", source=Source("json"), text=d["text"], title=d.get("title"),
                            language="en")
                arts.append(a)
                members[str(d["subtopic"])].append(a.id)
            stories = [Story(id=f"s{k}", label=k, article_ids=v) for k, v in members.items()]
            rows.append(_time_run("ECB+ (982 docs, subtopic stories)", _analysis(arts, stories, str(Path(tmp) / "e.db")), 1))
            one = [Story(id="all", label="all", article_ids=[a.id for a in arts])]
            rows.append(_time_run("ECB+ (982 docs, one story)", _analysis(arts, one, str(Path(tmp) / "e1.db")), 1))
            stress_ecb(arts, stories, str(Path(tmp) / "e2.db"))
        else:
            print(f"skip: {ecb} is absent (../shared is not part of the repository)")
    if rows:
        print_table("Claims stage speed (one process)", ["corpus", "articles/s", "figures", "claims", "2+ sources"], rows)


def stress_ecb(arts: list[Article], stories: list[Story], db: str) -> None:
    """False-alarm stress test: every article of an ECB+ subtopic dated the same day.

    ECB+ has no dates, so no figure can conflict there as it is. Giving all articles of
    a subtopic one date makes every pair of figures "same time": the conflicts flagged
    are an upper bound on false alarms (no gold; read them with ``--show``).
    """
    dated = [Article(id=a.id, source=a.source, text=a.text, title=a.title, language="en", published="2020-01-01",
                     published_basis="metadata") for a in arts]
    analysis = _analysis(dated, stories, db)
    claims = claimsmod.extract_claims(analysis)
    pairs = {frozenset((c.id, o)) for c in claims for o in c.conflicts}
    figure_claims = len(analysis.cache[claimsmod.FIGURES_CACHE])
    print_table("ECB+ stress: all articles of a subtopic dated one day (no gold)",
                ["figure claims", "conflicting claim pairs", "share of figure claims in a conflict"],
                [[figure_claims, len(pairs), sum(bool(c.conflicts) for c in claims) / max(1, figure_claims)]])
    if "--show" in sys.argv:
        by_id = {c.id: c for c in claims}
        for pair in sorted(pairs, key=sorted):
            a, b = (by_id[i] for i in sorted(pair))
            print(f"  {next(f.detail for f in a.flags if f.kind == 'conflict')}\n    A: {a.text[:150]}\n    B: {b.text[:150]}")


def _time_run(name: str, analysis: Analysis, reps: int) -> list:
    t = time.perf_counter()
    for _ in range(reps):
        analysis.cache.clear()
        claims = claimsmod.extract_claims(analysis)
    per_run = (time.perf_counter() - t) / reps
    n_fig = sum(len(v) for v in analysis.cache[claimsmod.FIGURES_CACHE].values())
    return [name, len(analysis.articles) / per_run, n_fig, len(claims), sum(c.independent_support > 1 for c in claims)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sample corpus only")
    parser.add_argument("--show", action="store_true", help="print the conflicts of the ECB+ stress test")
    args = parser.parse_args()
    score_sample()
    if not args.quick:
        speed_shared()


if __name__ == "__main__":
    main()
