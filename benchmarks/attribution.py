"""Quote and attribution extraction on PolNeAR dev (84 political news articles, brat standoff).

Each gold attribution has Source, Cue and Content spans (content may be in
several pieces). storydesk's quotes (direct, partial and indirect) are scored
as (source, content) pairs:

- content match: the predicted quote span and the gold content (union of its
  pieces) overlap by >= 50 % of the shorter of the two ("lenient", the primary
  rule, so one half of a split quote counts) or of both ("strict");
- source match: the syntactic head token (spaCy) of the predicted speaker span
  is the head token of the gold source span (a resolved "he" keeps the pronoun
  as its span, as PolNeAR annotates it). A second, "by entity" figure also
  accepts a gold source head that lies in any mention of the predicted
  speaker's entity ("the Vermont senator" vs "Sanders" elsewhere).

A predicted quote is a true positive if it matches some gold attribution; a
gold attribution is recalled if some prediction matches it. Pair scores leave
out gold attributions without a source and predictions without a speaker span.
"Direct" gold attributions are those whose content lies mostly (>= 50 % of
characters) inside quote marks (curly, straight or doubled apostrophes ''); they are compared with predictions of kind
``direct`` (partial quotes, a few words inside the reporter's sentence, are
scored with all attributions). Articles annotated by several annotators (2 in dev)
use the alphabetically first annotation file.

Anchor: PolNeAR's human attribution-wise agreement is 92.3 % (Newell et al.
2018); it is an agreement rate, not an F1, and no system figures are published.

Run: ``python benchmarks/attribution.py``
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import print_table, shared

# Curly, straight and doubled-apostrophe marks (''...'', as in the New York Times archive copy).
_QUOTED = re.compile(r"\u201c[^\u201d\n]*\u201d|\"[^\"\n]*\"|''(?:(?!'')[^\n])*''")


@dataclass
class Gold:
    source: tuple[int, int] | None
    content: list[tuple[int, int]]
    direct: bool


def parse_ann(path: Path, text: str) -> list[Gold]:
    """Gold attributions of one brat .ann file."""
    spans: dict[str, list[tuple[int, int]]] = {}
    relations = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 2:
            label, _, offsets = parts[1].partition(" ")
            spans[parts[0]] = [tuple(map(int, o.split())) for o in offsets.split(";")]
            spans[parts[0] + ":label"] = label  # type: ignore[assignment]
        elif line.startswith("E") and len(parts) >= 2:
            relations.append(dict(arg.split(":", 1) for arg in parts[1].split()))
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
    out = []
    for rel in relations:
        if "Content" not in rel:
            continue
        content = spans[rel["Content"]]
        source = spans.get(rel.get("Source", ""), [None])[0]
        total = sum(e - s for s, e in content)
        inside = sum(_overlap((s, e), q) for s, e in content for q in quoted)
        out.append(Gold(source, content, total > 0 and inside >= 0.5 * total))
    return out


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def content_match(pred: tuple[int, int], gold: list[tuple[int, int]], strict: bool) -> bool:
    inter = sum(_overlap(pred, g) for g in gold)
    glen = sum(e - s for s, e in gold)
    plen = pred[1] - pred[0]
    if not inter or not glen or not plen:
        return False
    if strict:
        return inter >= 0.5 * glen and inter >= 0.5 * plen
    return inter >= 0.5 * min(glen, plen)


def head_index(doc, span: tuple[int, int] | None):
    if span is None:
        return None
    s = doc.char_span(span[0], span[1], alignment_mode="expand")
    return s.root.i if s is not None and len(s) else None


def prf(tp_pred: int, n_pred: int, tp_gold: int, n_gold: int) -> tuple[float, float, float]:
    p = tp_pred / n_pred if n_pred else 0.0
    r = tp_gold / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(limit: int | None = None) -> dict | None:
    """Score quotes on PolNeAR dev; return metrics (primary: ``pairs_f1``)."""
    base = shared("data", "polnear", "dev")
    if base is None:
        return None
    from storydesk.models import nlp
    from storydesk.analysis import entities, quotes
    from storydesk.pipeline import Analysis
    from storydesk.records import Article, Source
    from storydesk.store import SQLiteStore

    articles, golds = [], {}
    for text_path in sorted((base / "text").glob("*.txt"))[:limit]:
        anns = sorted((base / "attributions").glob(text_path.stem + "_*.ann"))
        if not anns:
            continue
        text = text_path.read_text(encoding="utf-8")
        art = Article(id=Article.make_id(text, text_path.stem), source=Source(format="text", path=text_path.name),
                      text=text, outlet=text_path.stem.split("_")[0])
        articles.append(art)
        golds[art.id] = parse_ann(anns[0], text)
    t0 = time.perf_counter()
    analysis = Analysis(store=SQLiteStore(":memory:"), articles=articles)
    nlp.docs_for(analysis)
    analysis.results["entities"] = entities.extract(analysis)
    preds = quotes.extract(analysis)
    elapsed = time.perf_counter() - t0
    docs = analysis.cache[nlp.CACHE_KEY]
    by_article: dict[str, list] = {}
    for q in preds:
        by_article.setdefault(q.article_id, []).append(q)

    counts = {k: [0, 0, 0, 0] for k in ("content", "content_strict", "pairs", "pairs_strict", "pairs_entity",
                                        "direct_content", "direct_pairs", "direct_pairs_entity")}
    spans_of = {}
    for e in analysis.results["entities"]:
        for m in e.mentions:
            spans_of.setdefault((m.article_id, e.id), []).append(m.span)
    for art in articles:
        doc, gold, pred = docs[art.id], golds[art.id], by_article.get(art.id, [])
        _score(counts["content"], pred, gold, doc, strict=False, pairs=False)
        _score(counts["content_strict"], pred, gold, doc, strict=True, pairs=False)
        _score(counts["pairs"], pred, gold, doc, strict=False, pairs=True)
        _score(counts["pairs_strict"], pred, gold, doc, strict=True, pairs=True)
        _score(counts["pairs_entity"], pred, gold, doc, strict=False, pairs=True, spans_of=spans_of)
        dpred = [q for q in pred if q.kind == "direct"]
        dgold = [g for g in gold if g.direct]
        _score(counts["direct_content"], dpred, dgold, doc, strict=False, pairs=False)
        _score(counts["direct_pairs"], dpred, dgold, doc, strict=False, pairs=True)
        _score(counts["direct_pairs_entity"], dpred, dgold, doc, strict=False, pairs=True, spans_of=spans_of)
    metrics = {"articles": len(articles), "gold": sum(len(g) for g in golds.values()),
               "gold_direct": sum(g.direct for gs in golds.values() for g in gs), "predicted": len(preds),
               "articles_per_s": len(articles) / elapsed}
    for name, (tp_p, n_p, tp_g, n_g) in counts.items():
        p, r, f = prf(tp_p, n_p, tp_g, n_g)
        metrics.update({f"{name}_p": p, f"{name}_r": r, f"{name}_f1": f})
    metrics["primary"] = "pairs_f1"
    return metrics


def _score(acc: list[int], pred, gold, doc, strict: bool, pairs: bool, spans_of=None) -> None:
    if pairs:
        pred = [q for q in pred if q.speaker is not None and q.speaker.span is not None]
        gold = [g for g in gold if g.source is not None]
    gold_heads = [head_index(doc, g.source) for g in gold]
    hit_gold = [False] * len(gold)
    for q in pred:
        q_head = head_index(doc, q.speaker.span) if pairs else None
        ent_spans = (spans_of or {}).get((q.article_id, q.speaker.entity_id), []) if pairs else []
        ok = False
        for i, g in enumerate(gold):
            if not content_match(q.span, g.content, strict):
                continue
            same = not pairs or q_head == gold_heads[i] or (
                gold_heads[i] is not None and any(s <= doc[gold_heads[i]].idx < e for s, e in ent_spans))
            if same:
                ok = hit_gold[i] = True
        acc[0] += ok
    acc[1] += len(pred)
    acc[2] += sum(hit_gold)
    acc[3] += len(gold)


def main() -> None:
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    m = evaluate(limit)
    if m is None:
        return
    print(f"PolNeAR dev: {m['articles']} articles, {m['gold']} gold attributions "
          f"({m['gold_direct']} mostly inside quote marks), {m['predicted']} predicted quotes, "
          f"{m['articles_per_s']:.1f} articles/s (parse + entities + quotes, 1 run)")
    rows = []
    for name, label in [("pairs", "all attributions: (source, content), lenient"),
                        ("pairs_strict", "all attributions: (source, content), strict"),
                        ("content", "all attributions: content only, lenient"),
                        ("content_strict", "all attributions: content only, strict"),
                        ("pairs_entity", "all attributions: (source by entity, content), lenient"),
                        ("direct_pairs", "direct quotes: (source, content), lenient"),
                        ("direct_pairs_entity", "direct quotes: (source by entity, content), lenient"),
                        ("direct_content", "direct quotes: content only, lenient")]:
        rows.append([label, m[f"{name}_p"], m[f"{name}_r"], m[f"{name}_f1"]])
    print_table("Attribution extraction (PolNeAR dev)", ["measure", "P", "R", "F1"], rows)
    print("\nanchor: human attribution-wise agreement 92.3 % (an agreement rate, not an F1)")
    sample_and_seeds()


def sample_and_seeds() -> None:
    """Quotes, speakers and integrity cases on the sample corpus ground truth and on the seeds."""
    import _people_truth as truth

    analysis = truth.sample_analysis() if (truth.EXAMPLES / "ground_truth.json").exists() else None
    if analysis is not None:
        r = truth.score_sample(analysis)
        print_table("Sample corpus (examples/ground_truth.json)", ["measure", "found", "of"], [
            ["quotes found", r["quotes_found"], r["quotes_gold"]],
            ["... with the right speaker", r["speaker_correct"], r["quotes_gold"]],
            ["quote integrity cases found (relation + source article)", r["integrity_found"], r["integrity_gold"]]])
        for miss in r["misses"]:
            if miss[0] in ("missed", "speaker", "integrity"):
                print("  miss:", *miss)
    seeds = truth.seed_analysis()
    if seeds is not None:
        outlet = {a.id: a.outlet for a in seeds.articles}
        rows = [[outlet[q.article_id], q.kind, q.speaker.text if q.speaker else "-", q.cue or "-", q.text[:60]]
                for q in seeds.results["quotes"] if q.kind != "indirect"]
        print_table("Seeds: every direct and partial quote with its speaker", ["seed", "kind", "speaker", "cue", "quote"],
                    rows)
        print_table("Seeds: cross-outlet quote matches", ["seed", "relation", "speaker", "quote", "vs seed"],
                    truth.seed_integrity(seeds))


if __name__ == "__main__":
    main()
