"""Statements corroborated by meaning: per story, the sentences that say the same thing.

Every sentence of a story's English articles is embedded (all-MiniLM-L6-v2);
sentences of *different* articles join one :class:`StatementGroup` by complete
linkage: every pair inside a group is at least ``floor`` similar, and groups are
built from the closest pairs down, each pair at least ``link`` similar. A group's
``independent_support`` is the number of provenance source groups among its
articles, so a wire story republished ten times counts once while four outlets
reporting one fact in their own words count four.

Inside a group, pairs of sentences from different source groups are checked for
disagreement in words (:func:`contradictions`): a changed figure, a different
actor or place, a different day or date, or a negation present in one only.
Both spans are cited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional, Sequence

import numpy as np

from .pipeline import stage
from .records import Article, Citation, Contradiction, SourceGroup, StatementGroup, Story, content_id
from .text import load_data, sentence_spans, words

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class StatementConfig:
    link: float = 0.72  # cosine at which two sentences of different articles may group
    floor: float = 0.62  # every pair inside a group at least this close (complete linkage)
    min_words: int = 6  # shorter sentences state too little to corroborate
    max_sentences: int = 60  # sentences per article considered
    overlap: float = 0.5  # word overlap of the two sentences (of the shorter) for a contradiction


_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<=[a-z,;] )([A-Z][a-z\u00e0-\u024f]+(?: [A-Z][a-z\u00e0-\u024f]+)*)")


@lru_cache(maxsize=1)
def _vocab() -> dict:
    data = load_data("statements.json")
    return {k: frozenset(v) for k, v in data.items()}


def _units(article: Article, cfg: StatementConfig) -> list[tuple[int, int]]:
    text = article.text or ""
    return [(s, e) for s, e in sentence_spans(text) if len(words(text[s:e])) >= cfg.min_words][: cfg.max_sentences]


def group_statements(story: Story, articles: Sequence[Article], source_groups: Sequence[SourceGroup],
                     embed: Optional[Embed] = None, cfg: Optional[StatementConfig] = None) -> list[StatementGroup]:
    """Statement groups (two or more articles) of ``story``, largest support first."""
    cfg = cfg or StatementConfig()
    if embed is None:
        from .embed import embed as model_embed
        embed = model_embed
    by_id = {a.id: a for a in articles}
    origin = {a: g.origin_id for g in source_groups if g.story_id == story.id for a in g.article_ids}
    units = [(a, s, e) for a in story.article_ids if a in by_id and by_id[a].is_english
             for s, e in _units(by_id[a], cfg)]
    if len(units) < 2:
        return []
    vecs = np.asarray(embed([by_id[a].text[s:e] for a, s, e in units]), dtype=np.float32)
    sim = vecs @ vecs.T
    clusters = _complete_link(sim, [a for a, _, _ in units], cfg)
    out = []
    for members in clusters:
        arts = {units[i][0] for i in members}
        if len(arts) < 2:
            continue
        cites = [Citation(units[i][0], (units[i][1], units[i][2])) for i in sorted(members)]
        first = cites[0]
        out.append(StatementGroup(
            id=content_id("t", story.id, *(f"{c.article_id}:{c.span[0]}" for c in cites)), story_id=story.id,
            text=by_id[first.article_id].text[first.span[0]:first.span[1]], citations=cites,
            independent_support=len({origin.get(a, a) for a in arts}),
            contradictions=contradictions(cites, by_id, origin, cfg)))
    return sorted(out, key=lambda g: (-g.independent_support, g.id))


def _complete_link(sim: np.ndarray, article_of: list[str], cfg: StatementConfig) -> list[list[int]]:
    """Merge the closest cross-article pairs first; a merge keeps every pair >= ``floor``."""
    n = len(article_of)
    cluster = {i: [i] for i in range(n)}
    where = list(range(n))
    rows, cols = np.where(np.triu(sim, 1) >= cfg.link)
    for k in np.argsort(-sim[rows, cols], kind="stable"):
        i, j = int(rows[k]), int(cols[k])
        if article_of[i] == article_of[j] or where[i] == where[j]:
            continue
        a, b = cluster[where[i]], cluster[where[j]]
        if sim[np.ix_(a, b)].min() < cfg.floor:
            continue
        keep, gone = where[i], where[j]
        cluster[keep] = a + b
        for m in cluster.pop(gone):
            where[m] = keep
    return list(cluster.values())


def contradictions(cites: list[Citation], by_id: dict[str, Article], origin: dict[str, str],
                   cfg: Optional[StatementConfig] = None) -> list[Contradiction]:
    """Pairs of the group's sentences (different source groups) that disagree in words."""
    cfg = cfg or StatementConfig()
    out, seen = [], set()
    for n, x in enumerate(cites):
        for y in cites[n + 1:]:
            ox, oy = origin.get(x.article_id, x.article_id), origin.get(y.article_id, y.article_id)
            if ox == oy:
                continue
            found = disagreement(_text(by_id, x), _text(by_id, y), cfg)
            key = (frozenset((ox, oy)), found)
            if found and key not in seen:  # copies of one source repeat it: show it once
                seen.add(key)
                out.append(Contradiction(kind=found[0], detail=found[1], a=x, b=y))
    return out


def _text(by_id: dict[str, Article], c: Citation) -> str:
    return by_id[c.article_id].text[c.span[0]:c.span[1]]


def disagreement(a: str, b: str, cfg: Optional[StatementConfig] = None) -> Optional[tuple[str, str]]:
    """``(kind, detail)`` when two sentences about one thing disagree, else None.

    The rest of the two sentences must overlap (``overlap`` of their words) so that
    a difference is a change, not two statements about different things."""
    cfg = cfg or StatementConfig()
    vocab = _vocab()
    wa, wb = [w.casefold() for w in words(a)], [w.casefold() for w in words(b)]
    sa, sb = set(wa), set(wb)
    if len(sa & sb) / max(1, min(len(sa), len(sb))) < cfg.overlap:
        return None
    na, nb = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    na |= {w for w in sa if w in vocab["number_words"]}
    nb |= {w for w in sb if w in vocab["number_words"]}
    if na and nb and not na & nb:
        return "figure", f"{', '.join(sorted(na))} / {', '.join(sorted(nb))}"
    da, db = sa & vocab["date_words"], sb & vocab["date_words"]
    if da and db and not da & db:
        return "date", f"{', '.join(sorted(da))} / {', '.join(sorted(db))}"
    nega, negb = sa & vocab["negations"], sb & vocab["negations"]
    if bool(nega) != bool(negb) or any(w.endswith("n't") for w in wa) != any(w.endswith("n't") for w in wb):
        return "negation", ", ".join(sorted(nega | negb)) or "n't"
    return _names_differ(a, b, vocab)


def _names_differ(a: str, b: str, vocab: dict) -> Optional[tuple[str, str]]:
    """A name in each sentence that the other lacks: a different actor, or place after a place word."""
    def names(text: str) -> dict[str, str]:
        out = {}
        for m in _NAME.finditer(text):
            if m.group(1).casefold() in vocab["date_words"]:
                continue
            before = text[:m.start()].split()[-1:]
            kind = "place" if before and before[0].casefold() in vocab["place_prepositions"] else "actor"
            out[m.group(1)] = kind
        return out
    xa, xb = names(a), names(b)
    only_a = {n: k for n, k in xa.items() if not any(n in o or o in n for o in xb)}
    only_b = {n: k for n, k in xb.items() if not any(n in o or o in n for o in xa)}
    for kind in ("actor", "place"):
        ka = sorted(n for n, k in only_a.items() if k == kind)
        kb = sorted(n for n, k in only_b.items() if k == kind)
        if ka and kb:
            return kind, f"{', '.join(ka)} / {', '.join(kb)}"
    return None


def support_index(groups: Sequence[StatementGroup]) -> dict[tuple[str, int, int], int]:
    """``(article_id, start, end)`` of every grouped sentence -> its independent support."""
    return {(c.article_id, *c.span): g.independent_support for g in groups for c in g.citations}


def support_of(index: dict[tuple[str, int, int], int], article_id: str, span: tuple[int, int]) -> int:
    """Independent support of the sentence at ``span`` (1 when no other source says it)."""
    return index.get((article_id, *span), 1)


@stage("statements", needs=("stories", "source_groups"), wants=("sentence_vectors",),
       adds={"statements": StatementGroup})
def statements_stage(analysis) -> dict[str, list[StatementGroup]]:
    """Pipeline stage: statement groups of every story, with contradictions."""
    from .embed import embed
    groups = analysis.get("source_groups")
    out = []
    for story in analysis.get("stories"):
        try:
            out += group_statements(story, analysis.articles, groups, embed=lambda t: embed(t, analysis.cache))
        except Exception as exc:  # a bad story must not stop the batch
            analysis.fail(exc)
    return {"statements": out}
