"""Summary benchmark: ROUGE on NeuS beside the bundled systems, and briefing speed.

    python benchmarks/summary.py                 # ROUGE table + speed table
    python benchmarks/summary.py --embed         # also rank with MiniLM sentence embeddings
    python benchmarks/summary.py --only speed    # just the timing
    python benchmarks/summary.py --only sample --show   # sample corpus summaries with cited spans

NeuS (``../shared/data/neus``): 307 clusters of three outlets (title + lead), one
neutral reference each; the ``*.txt`` files are published systems' outputs, one
line per cluster in ``test_<n>.json`` order. Every row of the table is scored in
this run against the same references with ``rouge-score`` (stemming on, F1).
Model markup in those files (``TITLEAN=>``, ``ARTICLE=>``, ``<n>``, a leading
dash) is stripped before scoring. Our parameters were tuned by hand on clusters
0-99 only, so the table also reports clusters 100-306 ("held-out") apart.

Sample corpus (``examples/``): each story summarised with the ground truth's source
groups; every citation checked mechanically (see :func:`evaluate_sample`).

Speed: a synthetic story of 50 and of 500 articles (ECB+ documents when
``../shared/data/ecbplus`` is present, else replicated fictional text), one
source group per ECB+ subtopic, timed for summary + Markdown + HTML rendering.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
NEUS = SHARED / "data" / "neus"
ECB = SHARED / "data" / "ecbplus" / "ecbplus_docs.jsonl"

from storydesk.records import (Article, Briefing, Citation, Entity, Mention, Quote, Source,  # noqa: E402
                               SourceGroup, Speaker, Story, TimelineEvent)
from storydesk.analysis.summary import dangling_attribution, dateline_end, summarize  # noqa: E402

BUDGET = 70  # words; the references average 74, LexRank's outputs 70
DEV = range(100)
SYSTEMS = ["lexrank", "bart_large_cnn", "bart_large_multi", "pegasus_cnn", "pegasus_multi", "led_baseline",
           "led_event_relation_graph", "llama_baseline", "llama_event_relation_graph", "neus"]
_MARKUP = re.compile(r"TITLEAN=>|ARTICLE=>|TIT:\.*|<n>")


def clean_output(line: str) -> str:
    """Strip generation markup that is not part of the summary text."""
    return " ".join(_MARKUP.sub(" ", line).split()).lstrip("\u2013- ").strip()


def load_neus() -> list[dict]:
    files = sorted(NEUS.joinpath("test_data").glob("test_*.json"), key=lambda p: int(p.stem.split("_")[1]))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def neus_articles(cluster: dict, n: int) -> list[Article]:
    out = []
    for k, text in enumerate(cluster["source"]):
        outlet = f"outlet{k}"
        out.append(Article(id=Article.make_id(f"{n}:{text}", outlet), source=Source("json"), text=text,
                           outlet=outlet))
    return out


SENTENCES: dict[str, list[str]] = {}  # system -> every summary sentence, for the stand-alone check


def ours(clusters: list[dict], embed=None, name: str = "storydesk") -> list[str]:
    out = []
    for n, cluster in enumerate(clusters):
        arts = neus_articles(cluster, n)
        groups = {a.id: a.id for a in arts}  # three different outlets: independent
        sents = summarize(arts, budget_words=BUDGET, independent_groups=groups, embed=embed)
        SENTENCES.setdefault(name, []).extend(s.text for s in sents)
        out.append(" ".join(s.text for s in sents))
    return out


def scraps(sentences: list[str]) -> tuple[int, int]:
    """(sentences opening with a wire dateline, sentences ending in a dangling pronoun attribution)."""
    return sum(dateline_end(s) > 0 for s in sentences), sum(dangling_attribution(s) for s in sentences)


def print_scraps(where: str, sentences: list[str]) -> dict[str, float]:
    dated, dangling = scraps(sentences)
    n = max(1, len(sentences))
    print(f"{where}: {len(sentences)} summary sentences; opening with a dateline {dated} ({dated / n:.1%}); "
          f"ending in a dangling attribution {dangling} ({dangling / n:.1%}) (target 0)")
    return {"dateline_share": dated / n, "dangling_share": dangling / n}


def lead_baseline(clusters: list[dict]) -> list[str]:
    """First words of the first article, cut at the same budget."""
    return [" ".join(c["source"][0].split()[:BUDGET]) for c in clusters]


def score(outputs: list[str], refs: list[str], idx) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    totals = {"rouge1": [], "rouge2": [], "rougeL": []}
    for i in idx:
        s = scorer.score(refs[i], outputs[i])
        for k in totals:
            totals[k].append(s[k].fmeasure)
    return {k: 100 * statistics.mean(v) for k, v in totals.items()}


def evaluate_neus(use_embed: bool) -> dict[str, float]:
    """Print the ROUGE table; return our metrics (primary: ROUGE-2 F1 on all clusters)."""
    if not NEUS.is_dir():
        print(f"skip ROUGE: {NEUS} is absent (it lives in ../shared, outside the repository)")
        return {}
    clusters = load_neus()
    refs = [c["target"] for c in clusters]
    rows: dict[str, list[str]] = {}
    t0 = time.perf_counter()
    rows["storydesk (tf-idf)"] = ours(clusters, name="tf-idf")
    t_ours = time.perf_counter() - t0
    if use_embed:
        from storydesk.models import embeddings as emb

        cache: dict = {}
        rows["storydesk (MiniLM)"] = ours(clusters, embed=lambda texts: emb.embed(texts, cache), name="MiniLM")
    rows["lead baseline"] = lead_baseline(clusters)
    for name in SYSTEMS:
        lines = NEUS.joinpath(f"{name}.txt").read_text(encoding="utf-8").split("\n")
        if len(lines) != len(clusters):
            print(f"warning: {name}.txt has {len(lines)} lines for {len(clusters)} clusters; skipped")
            continue
        rows[name] = [clean_output(x) for x in lines]
    every, held = range(len(clusters)), [i for i in range(len(clusters)) if i not in DEV]
    print(f"\nNeuS test_data: {len(clusters)} clusters; ROUGE F1 x100, rouge-score, stemming on; "
          f"our budget {BUDGET} words; our summaries took {t_ours:.2f} s in all")
    print(f"{'system':28} {'words':>6} | {'R-1':>6} {'R-2':>6} {'R-L':>6} | held-out 100-306: "
          f"{'R-1':>6} {'R-2':>6} {'R-L':>6}")
    result = {}
    for name, outputs in rows.items():
        a, h = score(outputs, refs, every), score(outputs, refs, held)
        words = statistics.mean(len(o.split()) for o in outputs)
        print(f"{name:28} {words:6.1f} | {a['rouge1']:6.2f} {a['rouge2']:6.2f} {a['rougeL']:6.2f} | "
              f"{'':18}{h['rouge1']:6.2f} {h['rouge2']:6.2f} {h['rougeL']:6.2f}")
        if name.startswith("storydesk"):
            result.setdefault("rouge2", a["rouge2"])
            result.setdefault("rouge1", a["rouge1"])
            result.setdefault("rougeL", a["rougeL"])
    empty = sum(1 for o in rows["storydesk (tf-idf)"] if not o)
    print(f"empty storydesk summaries: {empty}")
    for name, sentences in SENTENCES.items():
        found = print_scraps(f"NeuS, storydesk ({name})", sentences)
        result.update({f"neus_{k}": v for k, v in found.items()} if name == "tf-idf" else {})
    return result


# --------------------------------------------------------------------------- speed
_FILLER = ("The council of the fictional town of Orlin met on Monday to discuss the new bridge over the Sava canal. "
           "Mayor Petra Vosk said the work would start in the spring and cost about 12 million crowns. "
           "\"We have waited for this bridge for twenty years,\" Vosk told the council. "
           "Opponents said the money should go to the schools instead. "
           "A final vote is expected next month.")


def synthetic_story(n: int) -> tuple[list[Article], list[SourceGroup]]:
    """``n`` articles: ECB+ documents (grouped by subtopic) or replicated fictional text."""
    docs = []
    if ECB.is_file():
        with ECB.open(encoding="utf-8") as fh:
            docs = [json.loads(line) for line in fh]
    articles, groups = [], {}
    for i in range(n):
        if docs:
            d = docs[i % len(docs)]
            text = "\n".join(d.get("conll_sentences") or [d["text"]])
            key = str(d["subtopic"])
        else:
            text, key = f"{_FILLER} Report number {i}.", str(i % 7)
        outlet = f"outlet{i}"
        a = Article(id=Article.make_id(f"{i}:{text}", outlet), source=Source("txt"), text=text, outlet=outlet,
                    title=f"Article {i}", published=f"2031-03-{1 + i % 28:02d}", published_basis="metadata")
        articles.append(a)
        groups.setdefault(key, []).append(a.id)
    return articles, [SourceGroup("s", ids[0], ids) for ids in groups.values()]


_CAPS = re.compile(r"\b[A-Z][a-z]{3,}\b")
_QUOTED = re.compile(r"\"([^\"]{20,200})\"")


def synthetic_sections(articles: list[Article]) -> dict:
    """A timeline event per article, entities from capitalised words, quotes from quoted passages,
    so the renderers are timed on full sections (the content is mechanical, not analysis)."""
    timeline, quotes, mentions = [], [], {}
    for a in articles:
        first = a.text.split("\n", 1)[0]
        timeline.append(TimelineEvent(a.published, "day", first[:200], [Citation(a.id, (0, min(len(first), 200)))]))
        for m in _CAPS.finditer(a.text):
            mentions.setdefault(m.group(), []).append(Mention(a.id, m.span(), m.group()))
        for m in _QUOTED.finditer(a.text):
            quotes.append(Quote(f"q{len(quotes)}", a.id, m.span(1), m.group(1), "direct", "said", Speaker("Someone")))
    entities = [Entity(f"e{k}", name, "ORG", [], [], ms) for k, (name, ms) in enumerate(mentions.items())]
    return {"timeline": timeline, "entities": entities, "quotes": quotes}


def time_briefing(n: int, repeats: int = 3) -> dict[str, float]:
    """Seconds for summary + Markdown + HTML: the first call in this process, and the best of ``repeats``."""
    from storydesk.render.html import render_html
    from storydesk.render.markdown import render_markdown

    articles, groups = synthetic_story(n)
    group_of = {aid: g.origin_id for g in groups for aid in g.article_ids}
    extras = synthetic_sections(articles)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        summary = summarize(articles, budget_words=150, independent_groups=group_of)
        t1 = time.perf_counter()
        story = Story("s", "Synthetic story", [a.id for a in articles])
        b = Briefing(generated_at="2031-03-31T00:00:00+00:00", articles=articles, stories=[story],
                     source_groups=groups, summary=summary, **extras)
        render_markdown(b)
        render_html(b)
        runs.append((t1 - t0, time.perf_counter() - t1))
    best = min(runs, key=sum)
    return {"first": sum(runs[0]), "summary": best[0], "render": best[1], "total": sum(best),
            "sentences": len(summary), "words": sum(a.words for a in articles)}


def evaluate_speed() -> dict[str, float]:
    source = "ECB+ documents" if ECB.is_file() else "replicated fictional text (ECB+ absent)"
    print(f"\nBriefing speed (summary + Markdown + HTML), {source}; best of 3, and the first (cold) call")
    print(f"{'articles':>8} {'words':>8} {'summary s':>10} {'render s':>9} {'best s':>7} {'first s':>8} "
          f"{'sentences':>9}")
    out = {}
    for n in (50, 500):
        t = time_briefing(n)
        out[f"seconds_{n}"] = t["total"]
        out[f"seconds_{n}_first"] = t["first"]
        print(f"{n:8d} {t['words']:8d} {t['summary']:10.3f} {t['render']:9.3f} {t['total']:7.3f} "
              f"{t['first']:8.3f} {t['sentences']:9d}")
    print("target: <= 2 s for 500 articles")
    return out


def _conflicting(sentence: str, span: str, conflicts: list[set[str]]) -> bool:
    """Do the sentence and the cited span give different values of one disputed figure?"""
    mine, theirs = set(re.findall(r"\d+", sentence)), set(re.findall(r"\d+", span))
    return any(mine & values and theirs & values and mine & values != theirs & values for values in conflicts)


def evaluate_sample(show: bool = False) -> dict[str, float]:
    """Summaries of the sample corpus (examples/), with the ground truth's stories and source groups.

    Checks every citation mechanically: the first one is the sentence itself (exact span), the
    others are in the same story and do not carry a different value of a ground-truth conflict.
    ``show`` prints each sentence with its cited spans for a reader to check support by hand.
    """
    import tempfile

    from storydesk.ingest import ingest
    from storydesk.store import SQLiteStore

    truth_path = ROOT / "examples" / "ground_truth.json"
    if not truth_path.is_file():
        print("skip sample corpus: examples/ground_truth.json is absent")
        return {}
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(str(Path(tmp) / "sample.db")) as store:
        ingest([str(ROOT / "examples" / "corpus")], store)
        articles = store.articles()
    by_title = {a.title: a for a in articles}
    story_of = {by_title[k].id: name for name, st in truth["stories"].items() for k in st["keys"] if k in by_title}
    group_of = {by_title[k].id: g["origin"] for g in truth["source_groups"] for k in g["keys"] if k in by_title}
    conflicts = [{str(v["value"]) for v in c["values"]} for c in truth.get("conflicts", [])]
    n_sent = n_cites = exact = bad = single = 0
    texts: list[str] = []
    print("\nSample corpus (examples/, ground-truth stories and source groups), budget 150 words")
    for name in sorted(truth["stories"]):
        arts = [a for a in articles if story_of.get(a.id) == name]
        summary = summarize(arts, budget_words=150, independent_groups=group_of)
        by_id = {a.id: a for a in arts}
        for s in summary:
            n_sent += 1
            texts.append(s.text)
            single += any(f.kind == "single_source" for f in s.flags)
            first = s.citations[0]
            exact += by_id[first.article_id].text[first.span[0]:first.span[1]] == s.text
            if show:
                groups = len({group_of.get(c.article_id, c.article_id) for c in s.citations})
                print(f"  [{name}] {s.text}\n      ({len(s.citations)} articles, {groups} independent)")
            for c in s.citations:
                n_cites += 1
                span = by_id[c.article_id].text[c.span[0]:c.span[1]] if c.article_id in by_id else ""
                bad += c.article_id not in by_id or _conflicting(s.text, span, conflicts)
                if show and c is not first:
                    print(f"      cites {by_id[c.article_id].outlet}: {span}")
    print(f"  {n_sent} summary sentences, {n_cites} citations; first citation is the exact sentence: "
          f"{exact}/{n_sent}; citations failing the mechanical checks: {bad}; single-source sentences: {single}")
    found = print_scraps("  sample corpus", texts)
    return {"sample_sentences": n_sent, "sample_citations": n_cites, "sample_bad_citations": bad,
            **{f"sample_{k}": v for k, v in found.items()}}


def evaluate_seeds() -> dict[str, float]:
    """The five real seed articles (../shared/seeds, one story) summarised without provenance groups:
    how many summary sentences keep a dateline or a dangling attribution."""
    import tempfile

    from storydesk.ingest import ingest
    from storydesk.store import SQLiteStore

    seeds = SHARED / "seeds"
    if not seeds.is_dir():
        print(f"skip seeds: {seeds} is absent (it lives in ../shared, outside the repository)")
        return {}
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(str(Path(tmp) / "seeds.db")) as store:
        ingest([str(seeds)], store)
        articles = store.articles()
    texts = [s.text for s in summarize(articles, budget_words=150)]
    print("\nSeeds (../shared/seeds, 5 articles as one story, groups by shared sentences), budget 150 words")
    return {f"seeds_{k}": v for k, v in print_scraps("  seeds", texts).items()}


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embed", action="store_true", help="also rank with MiniLM sentence embeddings")
    ap.add_argument("--only", choices=["rouge", "speed", "sample"], help="run one part")
    ap.add_argument("--show", action="store_true", help="print the sample corpus summaries and cited spans")
    args = ap.parse_args(argv)
    metrics = {}
    if args.only in (None, "sample"):
        metrics.update(evaluate_sample(args.show))
        metrics.update(evaluate_seeds())
    if args.only in (None, "rouge"):
        metrics.update(evaluate_neus(args.embed))
    if args.only in (None, "speed"):
        metrics.update(evaluate_speed())
    return metrics


if __name__ == "__main__":
    main()
