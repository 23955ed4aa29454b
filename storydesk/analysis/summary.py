"""Multi-document extractive summary whose every sentence cites its sources.

Each summary sentence is an exact span of one article (a sentence, a quote kept
whole with its attribution, or two sentences when the second leans on the
first). It cites that span and every span elsewhere that states the same thing
(same names, numbers and polarity, most of the same words). Statements stated
by several *independent* sources (source groups, not articles) rank higher;
MMR keeps the selection free of repeats. Similarity is TF-IDF over stemmed
content words, so the result is fast and deterministic; sentence embeddings
can be passed in for ranking. Statement groups (:mod:`storydesk.analysis.statements`: sentences of
other articles that say the same thing in their own words) add their agreeing members to a
sentence's citations and support, so a fact four outlets word differently is not "single
source"; a member that contradicts the sentence is neither cited nor counted.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np
from scipy import sparse

from ..errors import PipelineError
from ..pipeline import stage
from ..records import Article, Citation, Flag, SourceGroup, StatementGroup, SummarySentence, is_english
from ..text import alternation, load_data, normalise, paragraph_spans, sentence_spans, words

Embed = Callable[[list[str]], np.ndarray]

MIN_WORDS = 6  # shorter units are captions, bylines or fragments
MAX_WORDS = 70  # longer units are run-ons or badly split text
SUPPORT_CONTAINMENT = 0.8  # share of a statement's content words another span must hold to state it
SAME_SENTENCE = 0.8  # share of both lengths a unit and a statement group's sentence overlap to be one
REDUNDANT = 0.6  # cosine above which a candidate repeats a chosen sentence
REDUNDANT_EMBEDDED = 0.9  # the same with sentence embeddings, whose cosines run higher (tuned on NeuS 0-99)
SAME_ORIGIN = 0.3  # cosine above which an origin's sentence and its rewrite's tell the same thing (one is kept)
SAME_ORIGIN_EMBEDDED = 0.75
ALREADY_SAID = 0.6  # update mode: cosine above which new text repeats old text
MMR_LAMBDA = 0.85
POOL = 300  # candidates examined closely (support, citations); the rest rank too low
# Support counts independent groups on a log scale: 3 groups earn the full weight, 9 twice it.
# "echo": other groups saying something close (TF-IDF cosine >= ECHO), a softer, uncited signal.
# "agreement": how closely the other groups word it (mean best cosine per group), tuned on NeuS 0-99.
WEIGHTS = {"centrality": 1.0, "support": 0.6, "echo": 0.5, "position": 0.35, "agreement": 2.0}
ECHO = 0.25


# --------------------------------------------------------------------------- vocabulary
@functools.lru_cache(maxsize=1)
def _vocab() -> dict:
    data = load_data("summary.json")
    return {
        "stop": frozenset(data["stopwords"]),
        "neg": frozenset(data["negations"]),
        "cues": re.compile(r"\b(" + alternation(data["attribution_cues"]) + r")\b", re.I),
        "dangling": tuple(sorted(data["dangling_starts"], key=len, reverse=True)),
        "dangling_cue": frozenset(data["dangling_if_cue_follows"]),
        "pronoun_said": re.compile(
            r"\b(" + alternation(data["pronoun_speakers"]) + r")\s+(\w+\s+)?("
            + alternation(c for c in data["attribution_cues"] if " " not in c) + r")\b"
            r"|\b(said|says|added|asked|continued|told)\s+(" + alternation(data["pronoun_speakers"]) + r")\b", re.I),
        "boiler": [re.compile(p, re.I) for p in data["boilerplate_patterns"]],
        "dateline": re.compile(data["dateline_pattern"]),
        "dangling_said": re.compile(data["dangling_attribution"], re.I),
    }


_SUFFIXES = (("ies", "y"), ("sses", "ss"), ("ness", ""), ("ments", "ment"), ("ings", ""), ("ing", ""),
             ("edly", ""), ("ed", ""), ("es", "e"), ("s", ""))
_VOWEL = re.compile(r"[aeiouy]")


def _stem(word: str) -> str:
    """A light suffix stripper (plural, -ing, -ed): fast, deterministic, good enough to match words.

    Porter (nltk) scores the same on NeuS but its import alone takes most of the time budget.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    stem = word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix):
            stem = word[:-len(suffix)] + repl
            if len(stem) < 3 or not _VOWEL.search(stem) or word.endswith(("ss", "us", "is")) and suffix == "s":
                stem = word
            elif suffix in ("ing", "ed", "ings", "edly") and len(stem) > 3 and stem[-1] == stem[-2] \
                    and stem[-1] not in "lsz":
                stem = stem[:-1]  # stopped -> stop, running -> run
            break
    return stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem  # evacuate/evacuated -> evacuat


_TOKENS: dict[str, Optional[str]] = {}  # word -> stem, or None for stopwords and numbers


def _content(word: str) -> Optional[str]:
    """The stem of a content word; None for stopwords, numbers and single letters."""
    try:
        return _TOKENS[word]
    except KeyError:
        keep = word not in _vocab()["stop"] and not word.isdigit() and len(word) > 1
        stem = _stem(word) if keep else None
        if len(_TOKENS) < 500_000:
            _TOKENS[word] = stem
        return stem


# --------------------------------------------------------------------------- units
@dataclass
class _Unit:
    """A citable span of one article: a sentence, a whole quote, or a sentence with its lead-in."""

    article_id: str
    span: tuple[int, int]
    text: str
    index: int  # sentence position in the article (0 = lead)
    group: str
    eligible: bool = True
    reason: str = ""


@dataclass
class _Statement:
    """Units with the same normalised text (copies of one sentence across articles)."""

    text: str
    units: list[_Unit] = field(default_factory=list)
    tokens: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    negated: bool = False

    @property
    def eligible(self) -> bool:
        return any(u.eligible for u in self.units)

    @property
    def groups(self) -> set[str]:
        return {u.group for u in self.units}


_QUOTE_CHARS = re.compile(r"[\"\u201c\u201d]")
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|\u201c[^\u201d]*$|\"[^\"]*$")
_TERMINAL = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$|[\"\u201d]$")
_UPPER = re.compile(r"[A-Z\u00c0-\u00de]")
_LOWER = re.compile(r"[a-z\u00df-\u00ff]")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w\u00c0-\u024f'\u2019-]+")


def _balanced(text: str) -> bool:
    straight = text.count('"')
    return straight % 2 == 0 and text.count("\u201c") <= text.count("\u201d")


def _quote_units(text: str) -> list[tuple[int, int]]:
    """Sentence spans, merged so that no quotation is split across two units."""
    paragraphs = paragraph_spans(text)
    merged: list[tuple[int, int]] = []
    open_span: Optional[tuple[int, int]] = None
    for start, end in sentence_spans(text):
        if open_span is not None and _same_paragraph(paragraphs, open_span[0], start):
            open_span = (open_span[0], end)
        else:
            if open_span is not None:
                merged.append(open_span)
            open_span = (start, end)
        if _balanced(text[open_span[0]:open_span[1]]):
            merged.append(open_span)
            open_span = None
    if open_span is not None:
        merged.append(open_span)
    return merged


def _same_paragraph(paragraphs: list[tuple[int, int]], a: int, b: int) -> bool:
    for p_start, p_end in paragraphs:
        if p_start <= a < p_end:
            return p_start <= b < p_end
    return False


def _outside_quotes(text: str) -> str:
    return _QUOTED.sub(" ", text)


def _needs_context(text: str) -> bool:
    """True when the unit leans on the sentence before it (pronoun, connective, bare quote)."""
    v = _vocab()
    low = normalise(text).lstrip("([")
    # A pronoun opening a quotation is the speaker's; the attribution checks below decide.
    for start in () if low.startswith(("\"", "'")) else v["dangling"]:
        if low.startswith(start) and (len(low) == len(start) or not low[len(start)].isalnum()):
            return True
    first, _, rest = low.partition(" ")
    if first in v["dangling_cue"] and v["cues"].match(rest):
        return True
    if dangling_attribution(text):
        return True  # '..., she said.': who she is is in the sentence before
    outside = _outside_quotes(text)
    if _QUOTE_CHARS.search(text):
        if len(words(outside)) < 2:
            return True  # a bare quotation: who said it is in another sentence
        if v["pronoun_said"].search(outside):
            return True  # '..., he said.': the name is in the sentence before
    return False


def dangling_attribution(text: str) -> bool:
    """Does this one sentence say who spoke only by a pronoun ('..., she said.', 'He added ...')?

    Two sentences (a unit joined with its lead-in) are not dangling: the first names the speaker.
    """
    pieces = sentence_spans(text)
    return len(pieces) <= 1 and bool(_vocab()["dangling_said"].search(text.strip()))


def dateline_end(text: str) -> int:
    """Where the text starts after a leading wire dateline ('NIAMEY, Niger — '); 0 when there is none."""
    m = _vocab()["dateline"].match(text)
    return m.end() if m and len(text) - m.end() > 20 else 0


def is_boilerplate(text: str) -> bool:
    """Web furniture (sign-up prompts, captions, credits, links) rather than reporting."""
    return any(p.search(text) for p in _vocab()["boiler"])


def _reject_reason(text: str, boilerplate: bool = True) -> str:
    """Why a unit cannot stand in a summary on its own ('' when it can).

    ``boilerplate=False`` skips the slowest check; :func:`summarize` runs it
    only on the few units that rank high enough to be chosen.
    """
    n_words = len(text.split())
    if n_words < MIN_WORDS:
        return "short"
    if n_words > MAX_WORDS:
        return "long"
    if not _TERMINAL.search(text):
        return "fragment"
    if not _balanced(text):
        return "partial_quote"
    upper, lower = len(_UPPER.findall(text)), len(_LOWER.findall(text))
    if upper > 1.5 * lower:
        return "shouting"
    if boilerplate and is_boilerplate(text):
        return "boilerplate"
    if text.rstrip("\"'\u201d\u2019) ").endswith("?") and not _QUOTE_CHARS.search(text):
        return "question"
    return ""


def _trim_dateline(text: str, start: int, end: int) -> int:
    return start + dateline_end(text[start:end])


def article_units(article: Article, group: str, boilerplate: bool = True) -> list[_Unit]:
    """Cut an article into citable units and mark those fit to be summary sentences.

    With ``boilerplate=False`` units are not yet checked for web furniture (see
    :func:`_reject_reason`).
    """
    text = article.text if isinstance(article.text, str) else ""
    paragraphs = paragraph_spans(text)
    units: list[_Unit] = []
    prev: Optional[_Unit] = None
    for index, (start, end) in enumerate(_quote_units(text)):
        start = _trim_dateline(text, start, end)
        piece = text[start:end]
        reason = _reject_reason(piece, boilerplate)
        unit = _Unit(article.id, (start, end), piece, index, group, not reason, reason)
        units.append(unit)
        if not reason and _needs_context(piece):
            unit.eligible, unit.reason = False, "needs_context"
            if prev is not None and prev.eligible and _same_paragraph(paragraphs, prev.span[0], start):
                joined = text[prev.span[0]:end]
                why = _reject_reason(joined, boilerplate)
                units.append(_Unit(article.id, (prev.span[0], end), joined, prev.index, group, not why, why))
        prev = unit
    return units


# --------------------------------------------------------------------------- features
def _features(stmt: _Statement) -> None:
    v = _vocab()
    toks = words(stmt.text)
    stmt.tokens = frozenset(filter(None, map(_content, toks)))
    stmt.numbers = frozenset(t for t in toks if any(c.isdigit() for c in t))
    stmt.negated = any(t in v["neg"] or t.endswith("n't") for t in toks)
    stmt.names = frozenset(_stem(m.group().casefold().replace("\u2019", "'").split("'")[0])
                           for m in _NAME.finditer(stmt.text)
                           if m.group().casefold() not in v["stop"])


def _states(other: _Statement, stmt: _Statement, overlap: int) -> bool:
    """Does ``other`` state what ``stmt`` says (so it may be cited for it)?"""
    if len(stmt.tokens) < 3 or overlap < SUPPORT_CONTAINMENT * len(stmt.tokens):
        return False
    return (stmt.numbers <= other.numbers and stmt.names <= other.tokens | other.names
            and stmt.negated == other.negated)


def _matrices(stmts: list[_Statement]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(L2-normalised TF-IDF rows, binary rows) over stemmed content words."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(stmts):
        for tok in sorted(s.tokens):  # a set: its order changes with the hash seed, and float sums with it
            rows.append(i)
            cols.append(vocab.setdefault(tok, len(vocab)))
    shape = (len(stmts), max(1, len(vocab)))
    binary = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
    df = np.asarray(binary.sum(axis=0)).ravel()
    idf = np.log((1 + len(stmts)) / (1 + df)) + 1.0
    tfidf = binary.multiply(idf.astype(np.float32)).tocsr()
    norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    tfidf = sparse.diags((1.0 / norms).astype(np.float32)) @ tfidf
    return tfidf.tocsr(), binary


# --------------------------------------------------------------------------- grouping and dates
def _fallback_groups(articles: list[Article], units: dict[str, list[_Unit]]) -> dict[str, str]:
    """Without provenance, treat articles sharing half their sentences verbatim as one source."""
    parent = {a.id: a.id for a in articles}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    seen: dict[str, str] = {}
    shared: dict[tuple[str, str], int] = {}
    for a in articles:
        for key in {normalise(u.text) for u in units[a.id] if len(u.text.split()) >= MIN_WORDS}:
            if key in seen:
                pair = (seen[key], a.id)
                shared[pair] = shared.get(pair, 0) + 1
            else:
                seen[key] = a.id
    sizes = {a.id: max(1, len(units[a.id])) for a in articles}
    for (x, y), n in shared.items():
        if n >= 0.5 * min(sizes[x], sizes[y]):
            parent[find(y)] = find(x)
    return {a.id: find(a.id) for a in articles}


def published_after(article: Article, since: str) -> Optional[bool]:
    """Whether the article was published after ``since`` (compared at since's precision).

    None when it has no date, or a date flagged as not fitting its content.
    """
    if not article.published or article.has_flag("date_mismatch"):
        return None
    return article.published[:len(since)] > since


# --------------------------------------------------------------------------- summary
def summarize(articles: list[Article], *, budget_words: int = 150,
              independent_groups: Optional[dict[str, str]] = None, since: Optional[str] = None,
              embed: Optional[Embed] = None,
              statements: Optional[list[StatementGroup]] = None) -> list[SummarySentence]:
    """Summarise one story's articles within ``budget_words``, citing every sentence.

    Args:
        articles: the story's articles (any order; duplicates by id are ignored).
        budget_words: maximum total words of the summary.
        independent_groups: article id -> source-group id; articles of one group
            (copies of one wire story) count as one source. Missing articles are
            their own group; ``None`` groups articles that share most sentences.
        since: ISO date or datetime; when given, summarise only what articles
            published after it add to what earlier (or undated) articles said.
        embed: optional ``texts -> L2-normalised vectors`` used for ranking
            and redundancy.
        statements: the story's statement groups; a sentence that is one of a group's
            members also cites (and counts) the group's members that agree with it.

    Returns:
        Summary sentences, most important first, each an exact article span
        with citations to every article stating it; single-source ones flagged.
    """
    articles = list({a.id: a for a in articles}.values())
    if not articles or budget_words <= 0:
        return []
    units = {a.id: article_units(a, a.id, boilerplate=False) for a in articles}
    groups = dict(independent_groups) if independent_groups is not None else _fallback_groups(articles, units)
    for a in articles:
        for u in units[a.id]:
            u.group = str(groups.get(a.id, "article:" + a.id))
    new_ids = None
    if since:
        new_ids = {a.id for a in articles if published_after(a, since)}
        if not new_ids:
            return []
    stmts = _statements(u for a in articles for u in units[a.id])
    if not stmts:
        return []
    group_of = lambda aid: str(groups.get(aid, "article:" + aid))  # noqa: E731
    said, one = _said_alike(stmts, statements or [], group_of, {a.id for a in articles})
    return _select(stmts, budget_words, new_ids, embed, {a.id: a.language for a in articles}, said, one)


def _said_alike(stmts: list[_Statement], statements: list[StatementGroup], group_of: Callable[[str], str],
                present: set[str]) -> tuple[dict[int, list[_Unit]], dict[int, set[str]]]:
    """For each statement that is a statement group's member, the other members that agree
    with it (as units of their articles, their source group set), and the groups it is in."""
    from .statements import agreeing_members
    where: dict[str, list[tuple[tuple[int, int], StatementGroup, Citation]]] = {}
    for g in statements:
        for c in g.citations:
            where.setdefault(c.article_id, []).append((c.span, g, c))
    out: dict[int, list[_Unit]] = {}
    member: dict[int, set[str]] = {}
    for i, st in enumerate(stmts):
        for u in st.units:
            for span, g, c in where.get(u.article_id, []):
                if _same_span(u.span, span):
                    member.setdefault(i, set()).add(g.id)
                    out.setdefault(i, []).extend(
                        _Unit(m.article_id, m.span, "", 0, group_of(m.article_id), eligible=False)
                        for m in agreeing_members(g, c, group_of) if m.article_id in present)
    return out, member


def _same_span(a: tuple[int, int], b: tuple[int, int]) -> bool:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared > 0 and shared >= SAME_SENTENCE * max(a[1] - a[0], b[1] - b[0])


def _statements(units: Iterable[_Unit]) -> list[_Statement]:
    by_key: dict[str, _Statement] = {}
    for u in units:
        key = normalise(u.text)
        if key not in by_key:
            by_key[key] = _Statement(u.text)
        by_key[key].units.append(u)
    stmts = list(by_key.values())
    for s in stmts:
        _features(s)
    return stmts


def _select(stmts: list[_Statement], budget: int, new_ids: Optional[set[str]], embed: Optional[Embed],
            languages: dict[str, str], said: Optional[dict[int, list[_Unit]]] = None,
            one: Optional[dict[int, set[str]]] = None) -> list[SummarySentence]:
    said, one = said or {}, one or {}
    tfidf, binary = _matrices(stmts)
    is_new = np.array([new_ids is None or all(u.article_id in new_ids for u in s.units) for s in stmts])
    candidates = np.array([s.eligible and bool(s.tokens) for s in stmts]) & is_new & _english(stmts, languages)
    if not candidates.any():
        return []
    vectors = _vectors(stmts, tfidf, embed)
    weight = np.array([len(s.groups) for s in stmts], dtype=np.float32)
    centroid = _centroid(vectors, weight)
    centrality = _dot(vectors, centroid)
    position = np.array([max(1.0 / math.sqrt(1 + u.index) for u in s.units) for s in stmts])
    pre = np.where(candidates, centrality + WEIGHTS["position"] * position, -np.inf)
    pool = _pool(np.argsort(-pre, kind="stable"), candidates, stmts)
    if new_ids is not None:
        pool = _drop_already_said(pool, stmts, tfidf, is_new)  # lexical: thresholds are set for TF-IDF
    support = _support(pool, stmts, binary)
    if new_ids is not None:  # stated by an earlier article too: not new
        pool = [i for i in pool if all(is_new[j] for j in support[i])]
    echo = _echoes(pool, stmts, tfidf)
    agree = _agreement(pool, stmts, tfidf)
    score = {i: WEIGHTS["centrality"] * centrality[i] + WEIGHTS["agreement"] * agree[i]
             + WEIGHTS["support"] * math.log(len(_support_groups(i, support, stmts)
                                                  | {u.group for u in said.get(i, [])})) / math.log(3)
             + WEIGHTS["echo"] * math.log(1 + echo[i]) / math.log(3)
             + WEIGHTS["position"] * position[i] for i in pool}
    chosen = _mmr(pool, score, vectors, stmts, budget, REDUNDANT if embed is None else REDUNDANT_EMBEDDED,
                  SAME_ORIGIN if embed is None else SAME_ORIGIN_EMBEDDED, one)
    return [_sentence(stmts[i], [stmts[j] for j in support[i]], said.get(i, [])) for i in chosen]


def _pool(order: np.ndarray, candidates: np.ndarray, stmts: list[_Statement]) -> list[int]:
    """The best-ranked candidates that are not boilerplate, at most POOL of them."""
    pool: list[int] = []
    for i in order:
        if not candidates[i]:
            break  # candidates sort before the rest (they score above -inf)
        units = [u for u in stmts[i].units if u.eligible]
        if is_boilerplate(stmts[i].text):
            for u in units:
                u.eligible, u.reason = False, "boilerplate"
            continue
        pool.append(int(i))
        if len(pool) == POOL:
            break
    return pool


def _echoes(pool: list[int], stmts: list[_Statement], tfidf: sparse.csr_matrix) -> dict[int, int]:
    """How many other independent groups say something close (for ranking only, never cited)."""
    if not pool:
        return {}
    sims = (tfidf[pool] @ tfidf.T).tocsr()
    rows = np.repeat(np.arange(len(pool)), np.diff(sims.indptr))
    keep = sims.data >= ECHO
    groups: dict[int, set[str]] = {i: set() for i in pool}
    for row, j in zip(rows[keep], sims.indices[keep]):
        groups[pool[row]].update(stmts[j].groups)
    return {i: len(groups[i] - stmts[i].groups) for i in pool}


def _agreement(pool: list[int], stmts: list[_Statement], tfidf: sparse.csr_matrix) -> dict[int, float]:
    """How closely the other independent groups word the same thing: the mean, over every group but
    one, of the best cosine to any of their statements; groups stating it verbatim count 1."""
    if not pool:
        return {}
    members: dict[str, list[int]] = {}
    for j, st in enumerate(stmts):
        for g in st.groups:
            members.setdefault(g, []).append(j)
    names = list(members)
    if len(names) < 2:
        return {i: 0.0 for i in pool}
    columns = [j for g in names for j in members[g]]  # statements laid out group by group
    starts = np.cumsum([0] + [len(members[g]) for g in names[:-1]])
    sims = (tfidf[pool] @ tfidf[columns].T).toarray()
    best = np.maximum.reduceat(sims, starts, axis=1)  # pool x groups
    index = {g: k for k, g in enumerate(names)}
    out = {}
    for row, i in enumerate(pool):
        own = [index[g] for g in stmts[i].groups]
        total = best[row].sum() - best[row, own].sum() + len(own) - 1
        out[i] = float(total / (len(names) - 1))
    return out


def _support_groups(i: int, support: dict[int, list[int]], stmts: list[_Statement]) -> set[str]:
    return stmts[i].groups.union(*(stmts[j].groups for j in support[i]))


def _english(stmts: list[_Statement], languages: dict[str, str]) -> np.ndarray:
    """Statements from articles in English (or of unknown language): the briefing's language."""
    ok = {aid for aid, lang in languages.items() if is_english(lang)}
    return np.array([any(u.article_id in ok for u in s.units) for s in stmts])


def _vectors(stmts: list[_Statement], tfidf: sparse.csr_matrix, embed: Optional[Embed]):
    if embed is None:
        return tfidf
    vecs = np.asarray(embed([s.text for s in stmts]), dtype=np.float32)
    if vecs.shape[0] != len(stmts):
        raise PipelineError(f"embed returned {vecs.shape[0]} vectors for {len(stmts)} sentences")
    return vecs


def _dot(a, b: np.ndarray) -> np.ndarray:
    return np.asarray(a @ b).ravel()


def _centroid(vectors, weight: np.ndarray) -> np.ndarray:
    total = np.asarray(vectors.T @ weight).ravel()
    norm = np.linalg.norm(total)
    return total / norm if norm else total


def _drop_already_said(pool: list[int], stmts: list[_Statement], vectors, is_new: np.ndarray) -> list[int]:
    """Update mode: keep candidates that no earlier article already said."""
    old = [i for i in range(len(stmts)) if not is_new[i]]
    if not old:
        return pool
    sims = vectors[pool] @ vectors[old].T
    sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
    return [p for p, row in zip(pool, sims) if row.max(initial=0.0) < ALREADY_SAID]


def _support(pool: list[int], stmts: list[_Statement], binary: sparse.csr_matrix) -> dict[int, list[int]]:
    """For each pooled statement, the other statements that state it too."""
    if not pool:
        return {}
    overlap = (binary[pool] @ binary.T).tocsr()
    # Keep only pairs sharing enough words before the exact (Python) check.
    need = np.array([SUPPORT_CONTAINMENT * len(stmts[i].tokens) for i in pool], dtype=np.float32)
    rows = np.repeat(np.arange(len(pool)), np.diff(overlap.indptr))
    keep = overlap.data >= need[rows] - 1e-6
    out: dict[int, list[int]] = {i: [] for i in pool}
    for row, j, n in zip(rows[keep], overlap.indices[keep], overlap.data[keep]):
        i = pool[row]
        if j != i and _states(stmts[j], stmts[i], int(n)):
            out[i].append(int(j))
    return out


def _mmr(pool: list[int], score: dict[int, float], vectors, stmts: list[_Statement], budget: int,
         redundant: float, same_origin: float = 1.0, one: Optional[dict[int, set[str]]] = None) -> list[int]:
    """Greedy maximal marginal relevance within the word budget.

    Two articles of one source group (an origin and its copies or rewrites) are one source: a
    sentence close to one already chosen from another article of its group is its rewrite, and
    is left out even below the general redundancy threshold. Two sentences of one statement
    group (``one``: statement index -> its groups) say one thing: only one is chosen.
    """
    one = one or {}
    chosen: list[int] = []
    used = 0
    remaining = sorted(pool, key=lambda i: -score[i])
    at = {i: k for k, i in enumerate(pool)}
    sims = vectors[pool] @ vectors[pool].T
    sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
    while remaining:
        best, best_value = None, -np.inf
        for i in remaining:
            length = len(stmts[i].text.split())
            if used + length > budget:
                continue
            redundancy = sims[at[i], [at[c] for c in chosen]].max(initial=0.0)
            if any(sims[at[i], at[c]] >= same_origin and _rewrite_of(stmts[c], stmts[i]) for c in chosen):
                continue
            if redundancy >= redundant or any(_said(stmts[c], stmts[i]) or _said(stmts[i], stmts[c])
                                              or one.get(i, set()) & one.get(c, set()) for c in chosen):
                continue
            value = MMR_LAMBDA * score[i] - (1 - MMR_LAMBDA) * redundancy
            if value > best_value:
                best, best_value = i, value
        if best is None:
            break
        chosen.append(best)
        used += len(stmts[best].text.split())
        remaining.remove(best)
    return chosen


def _rewrite_of(chosen: _Statement, candidate: _Statement) -> bool:
    """Same source group, other articles: the candidate may be the chosen sentence rewritten."""
    mine = {u.article_id for u in candidate.units}
    return candidate.groups == chosen.groups and not mine & {u.article_id for u in chosen.units}


def _said(chosen: _Statement, candidate: _Statement) -> bool:
    """Does ``chosen`` hold most of ``candidate``'s content words (so one repeats the other)?"""
    return len(chosen.tokens & candidate.tokens) >= SUPPORT_CONTAINMENT * len(candidate.tokens)


def _sentence(stmt: _Statement, supporters: list[_Statement], alike: Iterable[_Unit] = ()) -> SummarySentence:
    """The statement as a summary sentence citing one span per article that states it (in
    its words, or in its own words: ``alike``, from the statement groups)."""
    lead = next(u for u in stmt.units if u.eligible)
    cited: dict[str, _Unit] = {lead.article_id: lead}
    for u in stmt.units + [u for s in supporters for u in s.units] + list(alike):
        cited.setdefault(u.article_id, u)
    citations = [Citation(u.article_id, u.span) for u in cited.values()]
    groups = {u.group for u in cited.values()}
    flags = []
    if len(groups) == 1:
        n = len(cited)
        flags.append(Flag("single_source", "stated by one source" + (f" ({n} articles sharing one origin)"
                                                                    if n > 1 else "")))
    return SummarySentence(text=lead.text, citations=citations, flags=flags)


# --------------------------------------------------------------------------- stage
@stage("summary", needs=("stories",), wants=("source_groups", "statements"), adds={"summary": SummarySentence},
       version="2")
def summary_stage(analysis) -> dict[str, list[SummarySentence]]:
    """Summarise the story (or all articles as one story when no story is given)."""
    source_groups: list[SourceGroup] = analysis.want("source_groups")
    statements: list[StatementGroup] = analysis.want("statements")
    groups = {aid: f"{g.story_id}/{g.origin_id}" for g in source_groups for aid in g.article_ids}
    options = analysis.options
    out: list[SummarySentence] = []
    for ids in analysis.groups():
        arts = [analysis.article(i) for i in ids]
        out.extend(summarize(arts, budget_words=int(options.get("summary_words", 150)),
                             independent_groups=groups or None, since=options.get("since"),
                             statements=statements))
    return {"summary": out}
