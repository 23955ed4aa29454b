"""Temporal tagging benchmark: TempEval-3 metrics on TimeBank + AQUAINT (TBAQ-cleaned).

Runs ``storydesk.analysis.timex.tag`` on the text of every ``.tml`` file with the
document's creation time (DCT) and scores it against the gold TIMEX3 tags
the way TempEval-3 does (UzZaman et al. 2013):

* strict / relaxed span precision, recall and F1 (exact span / any overlap);
* type and value accuracy over relaxed-matched pairs;
* type and value F1: attribute-correct relaxed matches over system and gold counts.

TBAQ is TempEval-3's *training* data, so these are development figures; the
published anchor (HeidelTime on the platinum test) is printed beside them.
With ``--sample`` it also checks the fictional sample corpus in ``examples/``.

    python benchmarks/timex.py [--data DIR] [--errors N] [--sample]
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storydesk.analysis.timex import tag  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_DATA = SHARED / "data" / "tempeval3" / "TBAQ-cleaned"
ANCHOR = {"system": "HeidelTime (TempEval-3 platinum test)", "strict_f1": 81.34, "relaxed_f1": 90.30,
          "type_f1": 82.09, "value_f1": 77.61}


@dataclass
class Gold:
    span: tuple[int, int]
    text: str
    type: str
    value: str


@dataclass
class Doc:
    name: str
    dct: str
    text: str
    gold: list[Gold]
    part: str = ""  # TimeBank | AQUAINT


_TAG = re.compile(r"<(/?)(\w+)([^>]*?)(/?)>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def parse_tml(path: Path) -> Doc:
    """Plain text of <TEXT> with the gold TIMEX3 spans as offsets into it."""
    raw = path.read_text(encoding="utf-8")
    dct_m = re.search(r"<DCT>.*?value=\"([^\"]+)\"", raw, re.S)
    body = re.search(r"<TEXT>(.*)</TEXT>", raw, re.S).group(1)
    out: list[str] = []
    pos = 0
    length = 0
    open_timex: list[tuple[int, dict]] = []
    gold: list[Gold] = []
    for m in _TAG.finditer(body):
        chunk = html.unescape(body[pos:m.start()])
        out.append(chunk)
        length += len(chunk)
        pos = m.end()
        closing, name, attrs, selfclosing = m.group(1), m.group(2), m.group(3), m.group(4)
        if name != "TIMEX3" or selfclosing:
            continue
        if not closing:
            open_timex.append((length, dict(_ATTR.findall(attrs))))
        else:
            start, a = open_timex.pop()
            gold.append(Gold((start, length), "", a.get("type", ""), a.get("value", "")))
    out.append(html.unescape(body[pos:]))
    text = "".join(out)
    for g in gold:
        g.text = text[g.span[0]:g.span[1]]
    return Doc(path.name, dct_m.group(1) if dct_m else "", text, gold, path.parent.name)


def load(data: Path) -> list[Doc]:
    files = sorted(data.glob("TimeBank/*.tml")) + sorted(data.glob("AQUAINT/*.tml"))
    return [parse_tml(f) for f in files]


def _norm_value(v: str) -> str:
    """Compare values as TempEval-3 intends: ISO week numbers with or without a leading zero are equal."""
    return re.sub(r"-W0(\d)\b", r"-W\1", v.strip())


def _prf(tp_p: int, n_sys: int, tp_r: int, n_gold: int) -> tuple[float, float, float]:
    p = tp_p / n_sys if n_sys else 0.0
    r = tp_r / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def dateparser_tag(text: str, dct: str) -> list:
    """Baseline: dateparser's search_dates (English only), every hit a day-precision DATE."""
    import datetime as dt

    from dateparser.search import search_dates

    from storydesk.analysis.timex import Timex

    base = dt.datetime.fromisoformat(dct[:10])
    found = search_dates(text, languages=["en"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"}) or []
    out, pos = [], 0
    for phrase, when in found:
        start = text.find(phrase, pos)
        if start < 0:
            continue
        pos = start + len(phrase)
        out.append(Timex((start, pos), phrase, "DATE", when.date().isoformat()))
    return out


def evaluate(docs: list[Doc], errors: int = 0, tagger=None) -> dict:
    """Tag every document and return TempEval-3 metrics (primary: value_f1)."""
    tagger = tagger or tag
    n_sys = n_gold = 0
    strict = relaxed_sys = relaxed_gold = 0
    type_ok = value_ok = 0
    misses, spurious, wrong = [], [], []
    t0 = time.perf_counter()
    predictions = [tagger(d.text, d.dct[:10]) for d in docs]
    seconds = time.perf_counter() - t0
    for doc, pred in zip(docs, predictions):
        n_sys += len(pred)
        n_gold += len(doc.gold)
        gold_spans = {g.span for g in doc.gold}
        strict += sum(1 for p in pred if p.span in gold_spans)
        relaxed_sys += sum(1 for p in pred if any(_overlap(p.span, g.span) for g in doc.gold))
        used: set[int] = set()
        for g in doc.gold:
            # One system expression per gold expression: the one overlapping most.
            best, best_ov = None, 0
            for i, p in enumerate(pred):
                ov = _overlap(p.span, g.span)
                if ov > best_ov and i not in used:
                    best, best_ov = i, ov
            if best is None:
                misses.append((doc.name, doc.dct, g))
                continue
            used.add(best)
            relaxed_gold += 1
            p = pred[best]
            type_ok += p.type == g.type
            if _norm_value(p.value) == _norm_value(g.value):
                value_ok += 1
            else:
                wrong.append((doc.name, doc.dct, g, p))
        spurious += [(doc.name, p) for p in pred if not any(_overlap(p.span, g.span) for g in doc.gold)]
    sp, sr, sf = _prf(strict, n_sys, strict, n_gold)
    rp, rr, rf = _prf(relaxed_sys, n_sys, relaxed_gold, n_gold)
    _, _, tf = _prf(type_ok, n_sys, type_ok, n_gold)
    vp, vr, vf = _prf(value_ok, n_sys, value_ok, n_gold)
    metrics = {
        "primary": "value_f1",
        "docs": len(docs), "gold": n_gold, "system": n_sys,
        "strict_p": 100 * sp, "strict_r": 100 * sr, "strict_f1": 100 * sf,
        "relaxed_p": 100 * rp, "relaxed_r": 100 * rr, "relaxed_f1": 100 * rf,
        "type_accuracy": 100 * type_ok / relaxed_gold if relaxed_gold else 0.0,
        "value_accuracy": 100 * value_ok / relaxed_gold if relaxed_gold else 0.0,
        "type_f1": 100 * tf, "value_p": 100 * vp, "value_r": 100 * vr, "value_f1": 100 * vf,
        "docs_per_s": len(docs) / seconds if seconds else float("inf"),
        "seconds": seconds,
    }
    if errors:
        _print_errors(misses, spurious, wrong, errors)
    return metrics


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _print_errors(misses, spurious, wrong, n: int) -> None:
    print(f"\n-- missed ({len(misses)}), first {n}:")
    for name, dct, g in misses[:n]:
        print(f"  {name} [{dct}] {g.text!r} {g.type} {g.value}")
    print(f"\n-- spurious ({len(spurious)}), first {n}:")
    for name, p in spurious[:n]:
        print(f"  {name} {p.text!r} {p.type} {p.value} ({p.rule})")
    print(f"\n-- wrong value ({len(wrong)}), first {n}:")
    for name, dct, g, p in wrong[:n]:
        print(f"  {name} [{dct[:10]}] gold {g.text!r} {g.type} {g.value} | "
              f"ours {p.text!r} {p.type} {p.value} ({p.rule})")


def print_table(m: dict) -> None:
    rows = [
        ("strict span P / R / F1", f"{m['strict_p']:.1f} / {m['strict_r']:.1f} / {m['strict_f1']:.1f}",
         f"F1 {ANCHOR['strict_f1']:.1f}"),
        ("relaxed span P / R / F1", f"{m['relaxed_p']:.1f} / {m['relaxed_r']:.1f} / {m['relaxed_f1']:.1f}",
         f"F1 {ANCHOR['relaxed_f1']:.1f}"),
        ("type accuracy / F1", f"{m['type_accuracy']:.1f} / {m['type_f1']:.1f}", f"F1 {ANCHOR['type_f1']:.1f}"),
        ("value accuracy / F1 (primary)", f"{m['value_accuracy']:.1f} / {m['value_f1']:.1f}",
         f"F1 {ANCHOR['value_f1']:.1f}"),
        ("speed", f"{m['docs_per_s']:.0f} docs/s ({m['seconds']:.2f} s)", ""),
    ]
    print("TBAQ-cleaned (TimeBank + AQUAINT, TempEval-3 training data: development figures)")
    print(f"{m['docs']} documents, {m['gold']} gold TIMEX3, {m['system']} tagged")
    print(f"{'metric':32} {'storydesk.analysis.timex':28} {ANCHOR['system']}")
    for name, ours, anchor in rows:
        print(f"{name:32} {ours:28} {anchor}")


def sample_articles(examples: Path) -> dict:
    """Ingest the sample corpus into a throw-away store: {title: Article}."""
    import tempfile

    from storydesk.ingest import ingest
    from storydesk.store import SQLiteStore

    with tempfile.TemporaryDirectory() as tmp:
        with SQLiteStore(str(Path(tmp) / "sample.db")) as store:
            ingest([str(examples / "corpus")], store)
            return {a.title: a for a in store.articles()}


def match_expressions(articles: dict, expected: list[dict]) -> tuple[int, int, list[str]]:
    """How many ground-truth expressions get the right type and value (relaxed span match).

    Each expected ``text`` is looked up in its article; an expression counts when a
    tagged expression overlapping one of its occurrences has the expected value
    (against the article's stated date: ``value_if_stated_date`` when given).
    """
    ok, total, misses = 0, 0, []
    for exp in expected:
        if exp.get("language", "en") != "en":
            continue
        article = articles.get(exp["article"])
        if article is None:
            continue
        total += 1
        want = exp.get("value_if_stated_date", exp["value"])
        tags = tag(article.text, article.published)
        spots = [m.span() for m in re.finditer(re.escape(exp["text"]), article.text)]
        found = [t for t in tags for sp in spots if _overlap(t.span, sp)]
        if any(t.value == want and t.type == exp["type"] for t in found):
            ok += 1
        else:
            got = ", ".join(f"{t.text!r}={t.type}:{t.value}" for t in found) or "nothing"
            misses.append(f"{exp['article'][:30]}: {exp['text']!r} want {exp['type']}:{want}, got {got}")
    return ok, total, misses


def evaluate_sample(examples: Path) -> dict | None:
    """Check the sample corpus' ground-truth time expressions (text, value, type)."""
    truth_path = examples / "ground_truth.json"
    if not truth_path.exists():
        return None
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    expected = truth.get("time_expressions") or []
    if not expected:
        return None
    ok, total, misses = match_expressions(sample_articles(examples), expected)
    return {"primary": "value_accuracy", "expected": total, "value_correct": ok,
            "value_accuracy": 100 * ok / total if total else 0.0, "misses": misses}


def evaluate_sample_dating(examples: Path) -> dict | None:
    """Misdated-article detection and timeline recall on the sample corpus (its own story labels)."""
    from storydesk.analysis.timeline import check_story_dates, story_timeline

    truth_path = examples / "ground_truth.json"
    if not truth_path.exists():
        return None
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    by_title = sample_articles(examples)
    stories: dict[str, list] = {}
    for t in truth["articles"]:
        stories.setdefault(t["story"], []).append(by_title[t["key"]])
    checks, events = {}, []
    for arts in stories.values():
        checks.update({c.article_id: c for c in check_story_dates(arts)})
        events += story_timeline(arts, checks)
    flagged = {t["key"] for t in truth["articles"] if checks[by_title[t["key"]].id].verdict == "mismatch"}
    misdated = {t["key"] for t in truth["articles"] if t["misdated"]}
    texts = {a.id: a.text for a in by_title.values()}

    def cited(e) -> str:
        return " ".join(texts[c.article_id][c.span[0]:c.span[1]] for c in e.citations)

    gt = truth.get("timeline", [])
    hit = [g for g in gt if any(e.date == g["date"] and any(x["text"] in cited(e) for x in g["evidence"])
                                for e in events)]
    matched = [e for e in events if any(e.date == g["date"] and any(x["text"] in cited(e) for x in g["evidence"])
                                        for g in gt)]
    return {"primary": "timeline_recall", "misdated_found": len(flagged & misdated), "misdated": len(misdated),
            "false_mismatch": len(flagged - misdated), "events": len(events), "gt_events": len(gt),
            "timeline_recall": 100 * len(hit) / len(gt) if gt else 0.0,
            "events_matching_gt": 100 * len(matched) / len(events) if events else 0.0,
            "missed": [f"{g['date']} {g['event']}" for g in gt if g not in hit]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--errors", type=int, default=0, help="print the first N errors of each kind")
    ap.add_argument("--sample", action="store_true", help="also check examples/ground_truth.json")
    ap.add_argument("--baseline", action="store_true", help="also score dateparser.search_dates alone (slow)")
    args = ap.parse_args(argv)
    if args.sample:
        res = evaluate_sample(ROOT / "examples")
        if res is None:
            print("sample corpus: examples/ground_truth.json has no time_expressions yet; skipped")
        else:
            print(f"sample corpus: {res['value_correct']}/{res['expected']} time expressions with the right "
                  f"type and value ({res['value_accuracy']:.1f} %)")
            for miss in res["misses"][:args.errors or 0]:
                print("  miss:", miss)
        dating = evaluate_sample_dating(ROOT / "examples")
        if dating:
            print(f"sample corpus dating: misdated articles flagged {dating['misdated_found']}/{dating['misdated']}, "
                  f"wrongly flagged {dating['false_mismatch']}")
            print(f"sample corpus timeline: {dating['events']} events; ground-truth events found with their date "
                  f"{dating['timeline_recall']:.1f} % of {dating['gt_events']}; events that match a ground-truth "
                  f"event {dating['events_matching_gt']:.1f} % (the ground truth is not exhaustive)")
            for miss in dating["missed"][:args.errors or 0]:
                print("  missed event:", miss)
    if not args.data.exists():
        print(f"skipped: {args.data} not found (TempEval-3 TBAQ-cleaned lives in ../shared/data/tempeval3)")
        return 0
    docs = load(args.data)
    metrics = evaluate(docs, errors=args.errors)
    print_table(metrics)
    for part in ("TimeBank", "AQUAINT"):
        sub = evaluate([d for d in docs if d.part == part])
        print(f"  {part:9} ({sub['docs']} docs): relaxed F1 {sub['relaxed_f1']:.1f}, strict F1 {sub['strict_f1']:.1f}, "
              f"value F1 {sub['value_f1']:.1f}")
    if args.baseline:
        base = evaluate(docs, tagger=dateparser_tag)
        print(f"dateparser.search_dates alone: relaxed F1 {base['relaxed_f1']:.1f}, strict F1 {base['strict_f1']:.1f}, "
              f"value F1 {base['value_f1']:.1f} ({base['docs_per_s']:.1f} docs/s)")
        metrics["dateparser_value_f1"] = base["value_f1"]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
