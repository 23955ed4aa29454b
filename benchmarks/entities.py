"""Cross-document entity merging on MEANTIME (English, 120 Wikinews articles in 4 topics).

Gold: the entity mentions of MEANTIME-prep (``entities_mentions.json``) with
their cross-document coreference chains. Documents are rebuilt from the CoNLL
tokens (light detokenisation, offsets kept). storydesk's entities stage runs
over all documents at once; each gold mention takes the entity whose mention
covers the gold head token, or stays a singleton when none does.

Scores: B-cubed P/R/F1 of the resulting clusters over the gold mentions, on
(a) named mentions (head is a proper noun; people, organisations, places) --
the primary figure, since storydesk links names, not "it" or "the company" --
and (b) every person/organisation/place mention. Baseline in the same run:
exact string match (case-folded mention text) across all documents.

Run: ``python benchmarks/entities.py``
"""
from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import bcubed, print_table, shared

TYPES = {"PER", "ORG", "LOC"}
_NO_SPACE_BEFORE = {",", ".", ":", ";", "!", "?", "%", ")", "]", "'s", "n't", "'", "''", "'re", "'ve", "'ll", "'d"}
_NO_SPACE_AFTER = {"(", "[", "$", "``"}


def load_docs(conll: Path) -> dict[str, dict]:
    """doc key -> {"text": str, "tokens": {(sent, tok): (start, end)}}."""
    docs: dict[str, dict] = {}
    for line in conll.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        key, sent, tok, word = parts[0], int(parts[1]), int(parts[2]), parts[3]
        d = docs.setdefault(key, {"pieces": [], "tokens": {}, "len": 0, "sent": -1, "prev": ""})
        if d["sent"] != sent and d["sent"] >= 0:
            sep = "\n" if sent == 1 else " "  # the first sentence is the headline
        elif d["len"] == 0:
            sep = ""
        else:
            sep = "" if word in _NO_SPACE_BEFORE or d["prev"] in _NO_SPACE_AFTER else " "
        d["pieces"].append(sep + word)
        start = d["len"] + len(sep)
        d["tokens"][(sent, tok)] = (start, start + len(word))
        d["len"] = start + len(word)
        d["sent"], d["prev"] = sent, word
    return {k: {"text": "".join(v["pieces"]), "tokens": v["tokens"]} for k, v in docs.items()}


# storydesk's types as MEANTIME names them (MEANTIME's LOC covers countries and cities).
_GOLD_TYPE = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC"}


def _typing(chosen: list[dict], pred: list[str], types: dict[str, str]) -> tuple[int, int]:
    """(typed right, found): gold mentions that landed in an entity, and those whose entity has the gold type."""
    found = [(m, p) for m, p in zip(chosen, pred) if p in types]
    return sum(types[p] == m["mention_type"] for m, p in found), len(found)


def evaluate() -> dict | None:
    """B-cubed of storydesk's entity clusters vs exact-match baseline (primary: ``named_f1``)."""
    base = shared("data", "meantime_en", "MEANTIME-prep", "output_data", "en")
    if base is None:
        return None
    from storydesk.analysis import entities
    from storydesk.pipeline import Analysis
    from storydesk.records import Article, Source
    from storydesk.store import SQLiteStore

    docs = load_docs(base / "meantime.conll")
    mentions = [m for m in json.loads((base / "entities_mentions.json").read_text(encoding="utf-8"))
                if m["mention_type"] in TYPES and m["conll_doc_key"] in docs]
    articles, ids = [], {}
    for key, d in docs.items():
        art = Article(id=Article.make_id(d["text"], key), source=Source(format="text", path=key), text=d["text"])
        articles.append(art)
        ids[key] = art.id
    t0 = time.perf_counter()
    analysis = Analysis(store=SQLiteStore(":memory:"), articles=articles)
    ents = entities.extract(analysis)
    elapsed = time.perf_counter() - t0
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    types = {e.id: _GOLD_TYPE.get(e.type, e.type) for e in ents}
    for e in ents:
        for m in e.mentions:
            spans[m.article_id].append((m.span[0], m.span[1], e.id))

    rows = {}
    for subset in ("named", "all"):
        chosen = [m for m in mentions if subset == "all" or m["mention_head_pos"] == "PROPN"]
        gold, pred, base_pred = [], [], []
        for n, m in enumerate(chosen):
            d = docs[m["conll_doc_key"]]
            head = d["tokens"].get((m["sent_id"], m["mention_head_id"]))
            hit = None
            if head:
                for s, e, eid in spans[ids[m["conll_doc_key"]]]:
                    if s < head[1] and e > head[0]:
                        hit = eid
                        break
            gold.append(m["coref_chain"])
            pred.append(hit or f"single:{n}")
            base_pred.append(" ".join(m["tokens_str"].casefold().split()))
        rows[subset] = {"n": len(chosen), "chains": len(set(gold)), "system": bcubed(gold, pred),
                        "baseline": bcubed(gold, base_pred), "typing": _typing(chosen, pred, types)}
    return {"docs": len(articles), "entities": len(ents), "seconds": elapsed, "rows": rows,
            "named_f1": rows["named"]["system"][2], "primary": "named_f1"}


def main() -> None:
    m = evaluate()
    if m is None:
        return
    print(f"MEANTIME en: {m['docs']} documents, {m['entities']} storydesk entities, "
          f"{m['seconds']:.1f} s for parse + entities")
    table = []
    for subset, label in [("named", "named mentions (proper-noun head)"), ("all", "all PER/ORG/LOC mentions")]:
        r = m["rows"][subset]
        for method in ("system", "baseline"):
            p, rec, f = r[method]
            name = "storydesk entities" if method == "system" else "exact string match"
            table.append([label, r["n"], r["chains"], name, p, rec, f])
    print_table("Cross-document entity clusters, B-cubed over gold mentions",
                ["mentions", "n", "gold chains", "method", "P", "R", "F1"], table)
    print_table("Entity types where MEANTIME gives one (PER/ORG/LOC; GPE counts as LOC)",
                ["mentions", "found in an entity", "typed right", "accuracy"],
                [[label, m["rows"][k]["typing"][1], m["rows"][k]["typing"][0],
                  m["rows"][k]["typing"][0] / max(1, m["rows"][k]["typing"][1])]
                 for k, label in [("named", "named mentions"), ("all", "all PER/ORG/LOC mentions")]])
    sample()


def sample() -> None:
    """Entity variants and must-not-merge pairs of the sample corpus ground truth."""
    import _people_truth as truth

    if not (truth.EXAMPLES / "ground_truth.json").exists():
        print("skip: examples/ground_truth.json is absent")
        return
    analysis = truth.sample_analysis()
    if analysis is None:
        return
    r = truth.score_sample(analysis)
    print_table("Sample corpus entities (examples/ground_truth.json)", ["measure", "value", "of"], [
        ["entities whose listed variants land in one entity", r["entities_not_split"], r["entities_gold"]],
        ["must-not-merge pairs merged (lower is better)", r["wrong_merges"], r["must_not_merge"]],
        ["entities found whole and typed as the ground truth types them", r["typed_correct"], r["typed_total"]]])
    for miss in r["misses"]:
        if miss[0] in ("split", "merged", "not found", "typed"):
            print("  ", *miss)


if __name__ == "__main__":
    main()
