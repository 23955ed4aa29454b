"""Statements corroborated by meaning: per story, the sentences that say the same thing.

Every sentence of a story's English articles is embedded (all-MiniLM-L6-v2). Two sentences of
different articles *link* when they say one thing, not merely the same topic:

- their *centred* cosine (each vector minus the story's mean sentence vector, so what every
  sentence of the story shares, the dam, the province, the junta, counts for nothing) is at
  least ``link``;
- the words they share carry at least ``anchor`` of the lighter sentence's weight, words
  weighted by rarity in the story (IDF over its distinct sentences): two reports of one fact
  share its rare words (212, spillway, Sunday), two facts of one story share only common ones;
- the rewrite judge (:mod:`storydesk.models.judge`) takes the pair for one statement (>= ``judge_min``);
- when both quote someone, the quotations share most words (two different quotations of one
  speaker are two statements).

Verbatim copies always link. Groups are built from the best links down by complete linkage:
every pair inside a group keeps a centred cosine of at least ``floor`` and compatible
quotations, and a group holds at most one sentence per article. A group's
``independent_support`` is the number of provenance source groups among its articles, so a wire
story republished ten times counts once while four outlets reporting one fact in their own
words count four. :func:`agreeing_support` counts, for one member, only the sources that do not
contradict it.

Inside a group, pairs of sentences from different source groups are checked for disagreement
in words (:func:`contradictions`): a changed figure (numbers counting the same thing), a
different day or date, a negation present in one only, a different actor (the names outside
quotations) or place (a name after a place preposition). Both spans are cited. Measured by
``benchmarks/statements.py`` on the sample corpus ground truth.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np

from ..pipeline import stage
from ..records import Article, Citation, Contradiction, SourceGroup, StatementGroup, Story, content_id
from ..text import load_data, normalise, sentence_spans, words

Embed = Callable[[Sequence[str]], np.ndarray]
Judge = Callable[[list[tuple[str, str]]], np.ndarray]


class _Link(NamedTuple):
    """A candidate link between sentences ``i`` and ``j``; ``sure`` ones need no judge."""
    score: float
    i: int
    j: int
    sure: bool


@dataclass(frozen=True)
class StatementConfig:
    link: float = 0.58  # centred cosine at which two sentences of different articles may link
    floor: float = 0.30  # centred cosine every pair inside a group keeps (complete linkage)
    anchor: float = 0.25  # rarity-weighted share of the lighter sentence's words the two share
    judge_min: float = 0.70  # rewrite-judge probability a linking pair needs
    sure: float = 0.90  # plain cosine at which the judge is not asked (it took all 235 such pairs of 293 ECB+ articles)
    quote_overlap: float = 0.5  # share of the shorter quotation's words the other quotation holds
    min_words: int = 6  # shorter sentences state too little to corroborate
    max_sentences: int = 60  # sentences per article considered
    overlap: float = 0.5  # word overlap of the two sentences (of the shorter) for a contradiction
# Tuned on 64 hand-labelled pairs of the sample corpus and the seeds (printed by --show in
# benchmarks/statements.py): the judge alone accepts many topical pairs of the seeds, the
# centred cosine alone a few background sentences, the rare-word share alone a few paraphrases.


_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")
_NAME = re.compile(r"\b[A-Z][a-z\u00e0-\u024f'\u2019]+(?: [A-Z][a-z\u00e0-\u024f'\u2019]+)*")


@lru_cache(maxsize=1)
def _vocab() -> dict:
    data = load_data("statements.json")
    return {**{k: frozenset(v) for k, v in data.items()}, "number_words": _number_words()}


def _number_words() -> frozenset[str]:
    """Words that write a figure: every number word but "one" (mostly a pronoun: "one of them"),
    dozen and the scales also as plurals ("hundreds")."""
    nw = load_data("number_words.json")
    counts = [*nw["units"], *nw["tens"], "dozen", *nw["scales"]]
    return frozenset(w for w in counts if w != "one") | {w + "s" for w in ("dozen", *nw["scales"])}


def _units(article: Article, cfg: StatementConfig) -> list[tuple[int, int]]:
    text = article.text or ""
    return [(s, e) for s, e in sentence_spans(text) if len(words(text[s:e])) >= cfg.min_words][: cfg.max_sentences]


def group_statements(story: Story, articles: Sequence[Article], source_groups: Sequence[SourceGroup],
                     embed: Optional[Embed] = None, cfg: Optional[StatementConfig] = None,
                     judge: Optional[Judge] = None) -> list[StatementGroup]:
    """Statement groups (two or more articles) of ``story``, largest support first.

    ``judge``: ``pairs -> probabilities`` (the shipped rewrite judge when None)."""
    cfg = cfg or StatementConfig()
    if embed is None:
        from ..models.embeddings import embed as model_embed
        embed = model_embed
    if judge is None:
        from ..models.judge import judge_pairs
        judge = judge_pairs
    by_id = {a.id: a for a in articles}
    origin = {a: g.origin_id for g in source_groups if g.story_id == story.id for a in g.article_ids}
    units = [(a, s, e) for a in story.article_ids if a in by_id and by_id[a].is_english
             for s, e in _units(by_id[a], cfg)]
    if len(units) < 2:
        return []
    texts = [by_id[a].text[s:e] for a, s, e in units]
    article_of = [a for a, _, _ in units]
    candidates, floor = _pair_tests(texts, article_of, embed, cfg)

    def verdicts(pairs: list[tuple[int, int]]) -> list[bool]:
        return [p >= cfg.judge_min for p in judge([(texts[i], texts[j]) for i, j in pairs])]

    out = []
    for members in _complete_link(candidates, floor, article_of, verdicts):
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


def _pair_tests(texts: list[str], article_of: list[str], embed: Embed,
                cfg: StatementConfig) -> tuple[list[_Link], np.ndarray]:
    """The candidate links, best first (``sure``: a verbatim copy or a
    plain cosine of at least ``cfg.sure``, which needs no judge), and the matrix of pairs that
    may share a group."""
    keys = [normalise(t) for t in texts]
    distinct = list(dict.fromkeys(keys))
    at = {k: n for n, k in enumerate(distinct)}
    first: dict[str, str] = {}
    for t, k in zip(texts, keys):
        first.setdefault(k, t)
    vecs = np.asarray(embed([first[k] for k in distinct]), dtype=np.float32)
    centred = vecs - vecs.mean(axis=0)  # distinct sentences: wire copies do not weigh the mean
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)
    row = np.array([at[k] for k in keys])
    sim = (centred @ centred.T)[np.ix_(row, row)]
    quotes = [_quotations(t) for t in texts]
    n = len(texts)
    floor = sim >= cfg.floor
    for i in range(n):
        for j in range(i + 1, n):
            if floor[i, j] and not _quotes_agree(quotes[i], quotes[j], cfg):
                floor[i, j] = floor[j, i] = False
    weights = _rarity(distinct)
    candidates = []
    for i in range(n):
        for j in range(i + 1, n):
            if article_of[i] == article_of[j] or not floor[i, j]:
                continue
            if keys[i] == keys[j]:
                candidates.append(_Link(2.0, i, j, True))  # a verbatim copy: the same statement
            elif sim[i, j] >= cfg.link and _anchor(weights, distinct[row[i]], distinct[row[j]]) >= cfg.anchor:
                plain = float(vecs[row[i]] @ vecs[row[j]])
                candidates.append(_Link(float(sim[i, j]), i, j, plain >= cfg.sure))
    return sorted(candidates, key=lambda c: -c.score), floor


def _content_words(text: str) -> set[str]:
    from .summary import _content
    toks = words(text.casefold())
    return {c for c in map(_content, toks) if c} | {t for t in toks if t[:1].isdigit()}


def _rarity(distinct: list[str]) -> dict[str, float]:
    """Each content word's IDF over the story's distinct sentences."""
    df: dict[str, int] = {}
    for t in distinct:
        for w in _content_words(t):
            df[w] = df.get(w, 0) + 1
    return {w: math.log((1 + len(distinct)) / c) for w, c in df.items()}


def _anchor(weights: dict[str, float], a: str, b: str) -> float:
    """The rarity the two sentences share, as a share of the lighter one's."""
    wa, wb = _content_words(a), _content_words(b)
    light = min(sum(weights.get(w, 0.0) for w in wa), sum(weights.get(w, 0.0) for w in wb))
    return sum(weights.get(w, 0.0) for w in wa & wb) / light if light > 0 else 0.0


def _quotations(text: str) -> set[str]:
    return {w.casefold() for m in _QUOTED.finditer(text) for w in words(m.group(1) or m.group(2))}


def _quotes_agree(qa: set[str], qb: set[str], cfg: StatementConfig) -> bool:
    """Two sentences that both quote someone say one thing only if they quote the same words."""
    if not qa or not qb:
        return True
    return len(qa & qb) >= cfg.quote_overlap * min(len(qa), len(qb))


def _complete_link(candidates: list[_Link], floor: np.ndarray, article_of: list[str],
                   verdicts: Callable[[list[tuple[int, int]]], list[bool]], ahead: int = 32) -> list[list[int]]:
    """Merge along the best candidate links first; a merge keeps every pair within ``floor`` and
    one sentence per article, and a doubtful link merges only if the judge takes it.

    The judge is asked only about links that would merge two groups at that point (a link
    inside a group, or one the floor forbids, changes nothing whatever the judge says), in
    batches of the next ``ahead`` such links: the groups are those of judging every link first,
    at a fraction of the judge calls (most links of a wire story fall inside a group)."""
    cluster = {i: [i] for i in range(len(article_of))}
    where = list(range(len(article_of)))

    def mergeable(i: int, j: int) -> bool:
        if where[i] == where[j]:
            return False
        a, b = cluster[where[i]], cluster[where[j]]
        return bool(floor[np.ix_(a, b)].all()) and not {article_of[x] for x in a} & {article_of[y] for y in b}

    taken: dict[int, bool] = {}
    for n, (_, i, j, sure) in enumerate(candidates):
        if not mergeable(i, j):
            continue
        if not sure and n not in taken:
            batch = []
            for m in range(n, len(candidates)):
                if len(batch) == ahead:
                    break
                c = candidates[m]
                if not c.sure and m not in taken and mergeable(c.i, c.j):
                    batch.append(m)
            taken.update(zip(batch, verdicts([(candidates[m].i, candidates[m].j) for m in batch])))
        if sure or taken[n]:
            keep, gone = where[i], where[j]
            cluster[keep] += cluster[gone]
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
    for check in (_figures_differ, _dates_differ, _negation_differs):
        found = check(wa, wb, vocab)
        if found:
            return found
    return _names_differ(a, b, vocab)


def _counts(toks: list[str], vocab: dict) -> list[tuple[str, set[str]]]:
    """Each figure of a sentence with what it counts: the content words of the next few tokens."""
    out = []
    for n, t in enumerate(toks):
        if _NUMBER.fullmatch(t) or t in vocab["number_words"]:
            following = _content_words(" ".join(toks[n + 1:n + 5]))
            out.append((t, {w for w in following if not w[:1].isdigit()}))
    return out


def _figures_differ(wa: list[str], wb: list[str], vocab: dict) -> Optional[tuple[str, str]]:
    """Figures counting the same thing (a shared word after them) that differ; or, when each
    sentence holds one figure only, those two figures."""
    ca, cb = _counts(wa, vocab), _counts(wb, vocab)
    na, nb = {x for x, _ in ca}, {y for y, _ in cb}
    for x, what_x in ca:
        for y, what_y in cb:
            if x != y and x not in nb and y not in na and what_x & what_y:
                return "figure", f"{x} / {y}"
    if len(na) == len(nb) == 1 and not na & nb:
        return "figure", f"{next(iter(na))} / {next(iter(nb))}"
    return None


def _dates_differ(wa: list[str], wb: list[str], vocab: dict) -> Optional[tuple[str, str]]:
    da, db = set(wa) & vocab["date_words"], set(wb) & vocab["date_words"]
    if da and db and not da & db:
        return "date", f"{', '.join(sorted(da))} / {', '.join(sorted(db))}"
    return None


def _negated(toks: list[str], vocab: dict) -> set[str]:
    """What a sentence negates: the first content word after each negation ('never told' -> tell)."""
    out = set()
    for n, t in enumerate(toks):
        if t in vocab["negations"] or t.endswith("n't"):
            after = [w for w in (_content_words(x) for x in toks[n + 1:n + 4]) if w]
            if after:
                out |= after[0]
    return out


def _negation_differs(wa: list[str], wb: list[str], vocab: dict) -> Optional[tuple[str, str]]:
    """A predicate negated in one sentence only, and stated in the other ('were told' / 'were
    never told'); 'not located' against 'unaccounted for' is the same statement."""
    ga, gb = _negated(wa, vocab), _negated(wb, vocab)
    stems_a, stems_b = _content_words(" ".join(wa)), _content_words(" ".join(wb))
    only = (ga - gb) & stems_b | (gb - ga) & stems_a
    if only:
        neg = sorted({t for t in wa + wb if t in vocab["negations"] or t.endswith("n't")})
        return "negation", f"{', '.join(neg)} ({', '.join(sorted(only))})"
    return None


def _names(text: str, vocab: dict) -> dict[str, str]:
    """Names outside quotations -> 'place' (after a place preposition) or 'actor'. A single
    capitalised word opening the sentence is an ordinary word ('Residents', 'The')."""
    bare = _QUOTED.sub(" \u2026 ", text)  # a quotation still comes before a name after it
    out = {}
    for m in _NAME.finditer(bare):
        name = " ".join(w for w in m.group().split() if w.casefold() not in vocab["date_words"])
        if not name or (not bare[:m.start()].strip() and " " not in name):
            continue
        before = bare[:m.start()].split()[-1:]
        out[name] = "place" if before and before[0].casefold() in vocab["place_prepositions"] else "actor"
    return out


def _names_differ(a: str, b: str, vocab: dict) -> Optional[tuple[str, str]]:
    """A name in each sentence that the other lacks: a different actor, or place after a place word."""
    xa, xb = _names(a, vocab), _names(b, vocab)
    only_a = {n: k for n, k in xa.items() if not any(n in o or o in n for o in xb)}
    only_b = {n: k for n, k in xb.items() if not any(n in o or o in n for o in xa)}
    for kind in ("actor", "place"):
        ka = sorted(n for n, k in only_a.items() if k == kind)
        kb = sorted(n for n, k in only_b.items() if k == kind)
        if ka and kb:
            return kind, f"{', '.join(ka)} / {', '.join(kb)}"
    return None


def agreeing_support(group: StatementGroup, citation: Citation, origin_of: Callable[[str], str]) -> int:
    """Independent sources of ``group`` that say what ``citation`` says: its source groups less
    those whose sentence contradicts it (``origin_of``: article id -> source-group id)."""
    members = agreeing_members(group, citation, origin_of)
    return len({origin_of(c.article_id) for c in members} | {origin_of(citation.article_id)})


def support_index(groups: Sequence[StatementGroup]) -> dict[tuple[str, int, int], int]:
    """``(article_id, start, end)`` of every grouped sentence -> its independent support."""
    return {(c.article_id, *c.span): g.independent_support for g in groups for c in g.citations}


def support_of(index: dict[tuple[str, int, int], int], article_id: str, span: tuple[int, int]) -> int:
    """Independent support of the sentence at ``span`` (1 when no other source says it)."""
    return index.get((article_id, *span), 1)


STORY_STATE = "statements"  # the per-story state: the judge's verdicts on this stage's pairs


@stage("statements", needs=("stories", "source_groups"), wants=("sentence_vectors",),
       adds={"statements": StatementGroup}, version="3")  # 3: every number word is a figure
def statements_stage(analysis) -> dict[str, list[StatementGroup]]:
    """Pipeline stage: statement groups of every story, with contradictions.

    The judge's verdicts are kept in the story's state, so a story that gains an article
    judges only the pairs the new article brings."""
    from ..models.embeddings import embed
    from ..models.judge import judge_pairs
    kept = _load_verdicts(analysis.state.get(STORY_STATE))
    used: dict[tuple[str, str], float] = {}

    def judge(pairs: list[tuple[str, str]]) -> np.ndarray:
        todo = [p for p in pairs if p not in kept]
        if todo:
            kept.update(zip(todo, (float(v) for v in judge_pairs(todo, analysis.cache))))
        used.update((p, kept[p]) for p in pairs)
        return np.array([kept[p] for p in pairs], dtype=float)

    groups = analysis.get("source_groups")
    out = []
    for story in analysis.get("stories"):
        try:
            out += group_statements(story, analysis.articles, groups, embed=lambda t: embed(t, analysis.cache),
                                    judge=judge)
        except Exception as exc:  # a bad story must not stop the batch
            analysis.fail(exc)
    analysis.state_out[STORY_STATE] = _dump_verdicts(used)
    return {"statements": out}


def _load_verdicts(blob: Optional[bytes]) -> dict[tuple[str, str], float]:
    if not blob:
        return {}
    try:
        return {(a, b): float(p) for a, b, p in json.loads(blob)}
    except (ValueError, TypeError):  # an unreadable state is only a lost cache
        return {}


def _dump_verdicts(verdicts: dict[tuple[str, str], float]) -> bytes:
    return json.dumps(sorted([a, b, p] for (a, b), p in verdicts.items())).encode("utf-8")


def agreeing_members(group: StatementGroup, citation: Citation, origin_of: Callable[[str], str]) -> list[Citation]:
    """The members of ``group`` (other articles) that no contradiction opposes to ``citation``."""
    mine = origin_of(citation.article_id)
    against = {origin_of(x.b.article_id) if origin_of(x.a.article_id) == mine else origin_of(x.a.article_id)
               for x in group.contradictions if mine in (origin_of(x.a.article_id), origin_of(x.b.article_id))}
    return [c for c in group.citations if c.article_id != citation.article_id and origin_of(c.article_id) not in against]
