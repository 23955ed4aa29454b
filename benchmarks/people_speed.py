"""Speed of the people step (spaCy parse + entities + quotes) in articles per second.

Corpus: the first N PolNeAR train articles (real news, about 800 words each);
without ../shared, the seeds-free fallback is the sample corpus text files.
Reports, for one run each: the model load, the parse alone (1 and 2
processes), and the whole step (parse on 2 processes + entities + quotes),
which is the figure to compare with the target of >= 10 articles/s on 2 cores.

Run: ``python benchmarks/people_speed.py [--n 200]``
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import print_table, shared


def load_texts(n: int) -> list[tuple[str, str]]:
    base = shared("data", "polnear", "train", "text")
    if base is None:
        return []
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(base.glob("*.txt"))[:n]]


def evaluate(n: int = 200) -> dict | None:
    """Time each part once; primary metric ``step_articles_per_s``."""
    texts = load_texts(n)
    if not texts:
        return None
    from storydesk.models import nlp
    from storydesk.analysis import entities, quotes
    from storydesk.pipeline import Analysis
    from storydesk.records import Article, Source
    from storydesk.store import SQLiteStore

    articles = [Article(id=Article.make_id(t, k), source=Source(format="text", path=k), text=t) for k, t in texts]
    words = sum(a.words for a in articles)
    t0 = time.perf_counter()
    nlp.get_nlp()
    load = time.perf_counter() - t0

    def parse_only(n_process: int) -> float:
        t = time.perf_counter()
        nlp.parse([nlp.capped(a.text) for a in articles], n_process=n_process)
        return time.perf_counter() - t

    parse1 = parse_only(1)
    parse2 = parse_only(2)
    analysis = Analysis(store=SQLiteStore(":memory:"), articles=articles, options={"n_process": 2})
    t = time.perf_counter()
    nlp.docs_for(analysis)
    t_parse = time.perf_counter() - t
    t = time.perf_counter()
    analysis.results["entities"] = entities.extract(analysis)
    t_ent = time.perf_counter() - t
    t = time.perf_counter()
    qs = quotes.extract(analysis)
    t_q = time.perf_counter() - t
    step = t_parse + t_ent + t_q
    return {"articles": len(articles), "words_per_article": words / len(articles), "load_s": load,
            "parse1_aps": len(articles) / parse1, "parse2_aps": len(articles) / parse2,
            "entities_s": t_ent, "quotes_s": t_q, "quotes": len(qs),
            "step_articles_per_s": len(articles) / step, "primary": "step_articles_per_s"}


def main() -> None:
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 200
    m = evaluate(n)
    if m is None:
        return
    print(f"{m['articles']} PolNeAR train articles, {m['words_per_article']:.0f} words each on average; "
          f"model load {m['load_s']:.1f} s (once per process)")
    rows = [["spaCy parse alone, 1 process", m["parse1_aps"]],
            ["spaCy parse alone, 2 processes", m["parse2_aps"]],
            ["entities (after parse), articles/s", m["articles"] / m["entities_s"]],
            ["quotes + integrity (after parse), articles/s", m["articles"] / m["quotes_s"]],
            ["whole step: parse (2 proc) + entities + quotes", m["step_articles_per_s"]]]
    print_table("People step speed (articles/s, one run)", ["part", "articles/s"], rows)
    print("\ntarget: whole step >= 10 articles/s on 2 cores")


if __name__ == "__main__":
    main()
