"""Claims: figures stated across articles, counted by independent support, conflicts shown.

Mentions of one story with the same family, who, compatible scope, value and time
(:mod:`.figures`: what a figure counts, where and when; :mod:`.numbers`: its value
and hedge) become one :class:`Claim`; ``independent_support`` counts distinct source
groups, so the copies of one wire story count once. Two claims *conflict* when they
count the same thing in the same place at the same time with values that cannot both
be true (hedges respected). A toll that rises over days is an update, not a conflict.

Sentences that independent sources state in nearly the same words (no figure, same
names and numbers) become claims too, but only with two or more source groups.

Everything is regular expressions over ``storydesk/data/claims.json`` plus the date
tagger on sentences that hold a figure: no parser, 2-4 ms per article on one core.
What a claim counts (value, hedge, family, scope, date) is kept in the store's state
``claims.figures.v1`` (:func:`figure_summaries`) until Claim has fields for it.
"""
from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Optional

from ..pipeline import Analysis, stage
from ..queries import story_of
from .. import work
from ..records import Article, Citation, Claim, Flag, content_id
from ..text import load_data, normalise, sentence_spans, words
from .figures import Figure, Scope, When, _dct, article_figures
from .numbers import Span, vocab

FIGURES_CACHE = "claim_figures"  # analysis.cache key: claim id -> its Figure mentions
FIGURES_STATE = "claims.figures.v1"  # store state: claim id -> summary of what it counts (JSON)


# ---------------------------------------------------------------------------
# 5. Grouping into claims
# ---------------------------------------------------------------------------

def same_scope(a: Scope, b: Scope) -> bool:
    """True when two scopes name the same place (both unscoped counts as the same)."""
    if a.actor != b.actor:
        return False
    if a.name and b.name:
        return a.name == b.name and (a.level == b.level or a.level is None or b.level is None)
    if a.name or b.name:
        return False
    return a.level == b.level


def compatible_scope(a: Scope, b: Scope) -> bool:
    """True when two mentions may state the same claim (equal places, or one of them names none)."""
    if a.actor and b.actor and a.actor != b.actor:
        return False
    if a.empty or b.empty:
        return True
    return same_scope(replace(a, actor=frozenset()), replace(b, actor=frozenset()))


def _monotone(family: str) -> bool:
    return bool(vocab().families.get(family, {}).get("monotone"))


def _comparable(family: str, detail: str) -> bool:
    """Whether figures of this family may be called conflicting at all."""
    if family in vocab().measure_labels:
        return False  # a sentence rarely says which height or distance it measures
    if family == "money":
        return bool(detail)
    return True


@dataclass
class _Group:
    family: str
    unit: str
    value: float
    scope: Scope
    members: list[Figure] = field(default_factory=list)

    def time_ok(self, f: Figure) -> bool:
        if _monotone(self.family):
            return True  # a cumulative count with the same value is the same fact on any day
        return all(f.when is None or m.when is None or f.when.overlaps(m.when) for m in self.members)

    def accepts(self, f: Figure, strict: bool) -> bool:
        if f.value != self.value and not self._near(f):
            return False
        if f.detail != self.members[0].detail:
            return False
        scope_ok = same_scope(f.scope, self.scope) if strict else compatible_scope(f.scope, self.scope)
        return scope_ok and self.time_ok(f)

    def _near(self, f: Figure) -> bool:
        """An approximate figure within the other's hedge ("about 600" and "620")."""
        approx = ("approx", "near_below", "near_above")
        return (f.hedge in approx or self.members[0].hedge in approx) and all(f.compatible(m) for m in self.members)

    def add(self, f: Figure) -> None:
        self.members.append(f)
        if self.scope.empty and not f.scope.empty:
            self.scope = f.scope
        elif f.scope.actor and not self.scope.actor:
            self.scope = replace(self.scope, actor=f.scope.actor)


def _group(figures: list[Figure], order: dict[str, int]) -> list[_Group]:
    buckets: dict[tuple, list[Figure]] = defaultdict(list)
    for f in figures:
        buckets[(f.family, f.unit)].append(f)
    groups: list[_Group] = []
    for (family, unit), figs in buckets.items():
        figs.sort(key=lambda f: (f.scope.empty, order.get(f.article_id, 0), f.span[0]))
        mine: list[_Group] = []
        for f in figs:
            home = next((g for g in mine if g.accepts(f, strict=True)), None) \
                or next((g for g in mine if g.accepts(f, strict=False)), None)
            if home is None:
                home = _Group(family, unit, f.value, f.scope)
                mine.append(home)
            home.add(f)
        groups += mine
    return groups


def _conflicting_pair(a: Figure, b: Figure, wa: Optional[When], wb: Optional[When]) -> bool:
    """True when two mentions (of different articles), dated ``wa`` and ``wb``, cannot both be right."""
    if a.article_id == b.article_id or a.compatible(b) or "vague" in (a.hedge, b.hedge):
        return False
    high, low = (a, b) if a.lo > b.hi else (b, a)
    if low.hi > 0 and high.lo / low.hi > vocab().max_ratio:
        return False  # "16 injured" in one street and "3,000 wounded" overall count different things
    if wa is None or wb is None or not wa.overlaps(wb):
        return False
    if _monotone(a.family):
        high, low, wh, wl = (a, b, wa, wb) if a.lo > b.hi else (b, a, wb, wa)
        if high.update and wh.ref >= wl.ref:
            return False  # "the toll climbed to 38": the lower count is the one it replaced
        if wa.ref != wb.ref:
            return wh.ref < wl.ref  # a cumulative count that went down within a day
    return wa.ref == wb.ref  # a count that goes up and down, on two days, is no conflict


def _first_report(g: _Group) -> Optional[When]:
    """When a cumulative count was first reported (later re-reports repeat it, they do not re-date it)."""
    dated = [m.when for m in g.members if m.when]
    return min(dated, key=lambda w: (w.ref, not w.explicit)) if dated else None


def _conflict(g: _Group, h: _Group) -> Optional[tuple[Figure, Figure]]:
    if not _comparable(g.family, g.members[0].detail) or g.members[0].detail != h.members[0].detail:
        return None
    if not same_scope(g.scope, h.scope):
        return None
    monotone = _monotone(g.family)
    first_g, first_h = _first_report(g), _first_report(h)
    for a in g.members:
        for b in h.members:
            wa = first_g if monotone and a.when else a.when
            wb = first_h if monotone and b.when else b.when
            if _conflicting_pair(a, b, wa, wb):
                return a, b
    return None


# ---------------------------------------------------------------------------
# 6. Claims
# ---------------------------------------------------------------------------

def _support(members: list[Figure], group_of: dict[str, str], texts: dict[tuple[str, Span], str]) -> int:
    """Distinct origins among the articles; articles sharing a long identical sentence share an origin too."""
    union: dict[str, str] = {}

    def find(x: str) -> str:
        while union.get(x, x) != x:
            x = union[x]
        return x

    first: dict[str, str] = {}  # normalised sentence -> origin of the first article that has it
    for f in members:
        origin = find(group_of.get(f.article_id, f.article_id))
        norm = texts.get((f.article_id, f.sentence))
        if norm and len(norm.split()) >= 6:  # a copy that provenance missed is still a copy
            other = find(first.setdefault(norm, origin))
            if other != origin:
                union[origin] = other
    return len({find(group_of.get(f.article_id, f.article_id)) for f in members})


def _clarity(f: Figure, article: Article, figure_count: int) -> tuple:
    sentence = article.text[f.sentence[0]:f.sentence[1]]
    quoted = bool(re.search("[\"\u201c\u201d]", sentence))
    n_words = len(sentence.split())
    return (f.scope.empty, figure_count > 1, quoted, abs(n_words - 22), f.span[0])


def _fmt_value(f: Figure) -> str:
    text = " ".join(f.text.split())
    return text[:1].lower() + text[1:] if text[:1].isalpha() else text


def _label(f: Figure) -> str:
    v = vocab()
    if f.family == "money":
        unit = "" if f.text[:1] in v.currency_symbols or f.text[:3] == "US$" else f.unit
        return " ".join([unit, f"({f.detail})" if f.detail else ""]).strip()
    if f.family in v.measure_labels:
        return f.detail  # the unit as written ("millimetres")
    label = v.families.get(f.family, {}).get("label", f.family)
    if f.unit not in ("people",) and f.family not in ("troops", "buildings"):
        label = f"{label} ({f.unit})"
    return label


def _scope_text(s: Scope) -> str:
    if not s.label:
        return ""
    return f" in {s.label}" if s.name or not s.label.startswith(("provincial", "national", "nationwide")) else f" ({s.label})"


def _claim_id(story: str, g: _Group) -> str:
    when = ""
    if not _monotone(g.family):
        days = sorted({m.when.ref.isoformat() for m in g.members if m.when})
        when = days[0] if days else ""
    return content_id("c", story, g.family, g.unit, g.scope.name or "", g.scope.level or "",
                      ",".join(sorted(g.scope.actor)), repr(g.value), g.members[0].detail, when)


def build_claims(figures: list[Figure], articles: dict[str, Article], story_of: dict[str, str],
                 group_of: dict[str, str], order: Optional[dict[str, int]] = None,
                 figures_of: Optional[dict[str, list[Figure]]] = None,
                 summaries: Optional[dict[str, dict]] = None) -> list[Claim]:
    """Group figure mentions into claims, count support and mark conflicts.

    Args:
        figures: figure mentions of any number of articles.
        articles: article id -> Article (for sentence texts).
        story_of: article id -> story id; figures of different stories never meet.
        group_of: article id -> source group key (copies of one origin share it).
        order: article id -> arrival position (earlier articles come first).
        figures_of: if given, filled with claim id -> its figure mentions (value, hedge,
            family, scope, date), which a Claim record has no fields for.
        summaries: if given, filled with claim id -> a JSON-ready summary of what it counts.
    """
    order = order or {aid: i for i, aid in enumerate(articles)}
    by_story: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        by_story[story_of.get(f.article_id, f.article_id)].append(f)
    texts = {(f.article_id, f.sentence): normalise(articles[f.article_id].text[f.sentence[0]:f.sentence[1]])
             for f in figures}
    per_sentence: dict[tuple, int] = defaultdict(int)
    for f in figures:
        per_sentence[(f.article_id, f.sentence)] += 1
    claims: list[Claim] = []
    for story, figs in by_story.items():
        groups = _group(figs, order)
        made: list[tuple[_Group, Claim]] = []
        seen_ids: set[str] = set()
        for g in groups:
            made.append((g, _make_claim(story, g, articles, group_of, texts, per_sentence, order, seen_ids)))
        _mark_conflicts(made)
        if figures_of is not None:
            figures_of.update({c.id: list(g.members) for g, c in made})
        if summaries is not None:
            summaries.update({c.id: _summary(g.members, g.scope) for g, c in made})
        made.sort(key=lambda p: (min(order.get(m.article_id, 0) for m in p[0].members),
                                 min(m.span[0] for m in p[0].members if order.get(m.article_id, 0) ==
                                     min(order.get(x.article_id, 0) for x in p[0].members))))
        claims += [c for _, c in made]
    return claims


def _make_claim(story: str, g: _Group, articles: dict[str, Article], group_of: dict[str, str],
                texts: dict, per_sentence: dict, order: dict[str, int], seen_ids: set[str]) -> Claim:
    best_per_article: dict[str, Figure] = {}
    for f in g.members:
        cur = best_per_article.get(f.article_id)
        key = _clarity(f, articles[f.article_id], per_sentence[(f.article_id, f.sentence)])
        if cur is None or key < _clarity(cur, articles[cur.article_id], per_sentence[(cur.article_id, cur.sentence)]):
            best_per_article[f.article_id] = f
    chosen = sorted(best_per_article.values(), key=lambda f: order.get(f.article_id, 0))
    lead = min(chosen, key=lambda f: (_clarity(f, articles[f.article_id], per_sentence[(f.article_id, f.sentence)]),
                                      order.get(f.article_id, 0)))
    text = articles[lead.article_id].text[lead.sentence[0]:lead.sentence[1]]
    citations = [Citation(lead.article_id, lead.sentence)] + [Citation(f.article_id, f.sentence)
                                                              for f in chosen if f is not lead]
    support = _support(g.members, group_of, texts)
    cid = _claim_id(story, g)
    while cid in seen_ids:
        cid = content_id("c", cid, text)
    seen_ids.add(cid)
    flags = []
    if support == 1:
        n = len(chosen)
        flags.append(Flag("single_source", "stated by one source" +
                          (f" ({n} articles sharing one origin)" if n > 1 else "")))
    return Claim(id=cid, text=text, citations=citations, independent_support=support, flags=flags,
                 label=figure_label(g.members, g.scope))


def _mark_conflicts(made: list[tuple[_Group, Claim]]) -> None:
    by_key: dict[tuple, list[tuple[_Group, Claim]]] = defaultdict(list)
    for g, c in made:
        by_key[(g.family, g.unit)].append((g, c))
    for pairs in by_key.values():
        for i, (g, c) in enumerate(pairs):
            for h, d in pairs[i + 1:]:
                hit = _conflict(g, h)
                if not hit:
                    continue
                a, b = hit
                c.conflicts.append(d.id)
                d.conflicts.append(c.id)
                c.flags.append(Flag("conflict", conflict_detail(a, b, g.scope)))
                d.flags.append(Flag("conflict", conflict_detail(b, a, g.scope)))


def figure_label(members: list[Figure], scope: Optional[Scope] = None) -> str:
    """One line saying what a claim counts: "at least 9 deaths in Korvath Province, 2025-10-22"."""
    lead = members[0]
    dated = [m.when for m in members if m.when]
    when = min(dated, key=lambda w: (w.ref, not w.explicit)) if dated else None
    day = f", {when.label}" if when else ""
    words_ = f"{_fmt_value(lead)} {_label(lead)}".split()
    return " ".join(words_) + _scope_text(scope or lead.scope) + day


def figure_summaries(store) -> dict[str, dict]:
    """What each stored figure claim counts (claim id -> value, hedge, family, unit, scope, date, label).

    A Claim record has no fields for these yet, so the claims stage keeps them in the
    store's state under ``claims.figures.v1``.
    """
    if store is None:
        return {}
    out: dict[str, dict] = {}
    raw = store.get_state(FIGURES_STATE)
    if raw:
        out.update(json.loads(raw))
    for name, blob in store.states("story:").items():
        if name.endswith(":" + FIGURES_STATE) and blob:
            out.update(json.loads(blob))
    return out


def _summary(members: list[Figure], scope: Scope) -> dict:
    lead = members[0]
    dated = sorted({m.when.label for m in members if m.when})
    return {"value": lead.value, "hedge": lead.hedge, "as_written": _fmt_value(lead), "family": lead.family,
            "unit": lead.unit, "detail": lead.detail, "scope": scope.label or None,
            "dates": dated, "label": figure_label(members, scope)}


def conflict_detail(a: Figure, b: Figure, scope: Optional[Scope] = None) -> str:
    """Reader-facing summary of a conflict: "17 vs at least 23 deaths in Selm District, 2025-10-23"."""
    scope = scope or a.scope
    day = None
    if a.when and b.when:
        explicit = [w for w in (a.when, b.when) if w.explicit]
        day = explicit[0].label if explicit else max(a.when.ref, b.when.ref).isoformat()
        if a.when.ref == b.when.ref and not explicit:
            day = a.when.ref.isoformat()
    label = _label(a)
    where = _scope_text(scope)
    when = f", {day}" if day else ""
    return " ".join(f"{_fmt_value(a)} vs {_fmt_value(b)} {label}".split()) + f"{where}{when}"


# ---------------------------------------------------------------------------
# 7. Statements without figures: near-identical sentences from independent sources
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Statement:
    article_id: str
    span: Span
    content: frozenset  # content words
    names: frozenset  # capitalised words after the first: who and where must be the same
    numbers: frozenset


@functools.lru_cache(maxsize=1)
def _statement_config() -> tuple[dict, frozenset]:
    cfg = load_data("claims.json")["statements"]
    return cfg, frozenset(load_data("stopwords.json")["en"]) | frozenset(cfg["stopwords"])


def article_statements(article: Article, skip: set[Span]) -> list[_Statement]:
    """Sentences of one article that may state a fact (no quotes, sensible length), minus ``skip``."""
    cfg, stop = _statement_config()
    out = []
    for s, e in sentence_spans(article.text):
        sentence = article.text[s:e]
        if (s, e) in skip or re.search("[\"\u201c\u201d\u00ab\u00bb]|''|``", sentence):
            continue  # figures have their own claims; quotes belong to the quotes stage
        toks = words(sentence)
        if not cfg["min_words"] <= len(toks) <= cfg["max_words"]:
            continue
        content = frozenset(w for w in toks if w not in stop and len(w) > 2 and not w.isdigit())
        names = frozenset(m.group().casefold() for m in re.finditer(r"\b[A-Z][\w'\u2019-]+", sentence)
                          if m.start() > 0)
        numbers = frozenset(re.findall(r"\d[\d,.]*\d|\d", sentence))
        out.append(_Statement(article.id, (s, e), content, names, numbers))
    return out


def _same_statement(a: _Statement, b: _Statement, threshold: float) -> bool:
    if a.article_id == b.article_id or a.names != b.names or a.numbers != b.numbers:
        return False  # a different name or number is a different fact, however many words are shared
    union = len(a.content | b.content)
    return bool(union) and len(a.content & b.content) / union >= threshold


def statement_claims(statements: list[_Statement], articles: dict[str, Article], story_of: dict[str, str],
                     group_of: dict[str, str], order: dict[str, int]) -> list[Claim]:
    """Claims for sentences that independent sources state in nearly the same words.

    Only a sentence found in at least two source groups becomes a claim: a shared topic
    is not support, so the words (Jaccard >= ``statements.min_jaccard``), the names
    and the numbers must all agree.
    """
    cfg, _ = _statement_config()
    by_story: dict[str, list[_Statement]] = defaultdict(list)
    for st in statements:
        by_story[story_of.get(st.article_id, st.article_id)].append(st)
    claims = []
    for story, sts in by_story.items():
        sts.sort(key=lambda x: (order.get(x.article_id, 0), x.span[0]))
        postings: dict[str, list[int]] = defaultdict(list)
        clusters: list[list[_Statement]] = []
        home: dict[int, int] = {}  # statement index -> cluster index (for leads only)
        for i, st in enumerate(sts):
            shared: dict[int, int] = defaultdict(int)
            for w in st.content:
                for j in postings[w][-cfg["max_posting"]:]:
                    shared[j] += 1
            need = max(2, int(cfg["min_jaccard"] * len(st.content)) - 1)
            match = next((home[j] for j, n in sorted(shared.items(), key=lambda p: -p[1])
                          if n >= need and j in home and _same_statement(st, sts[j], cfg["min_jaccard"])), None)
            if match is None:
                home[i] = len(clusters)
                clusters.append([st])
                for w in st.content:
                    postings[w].append(i)
            else:
                clusters[match].append(st)
        for members in clusters:
            claim = _statement_claim(story, members, articles, group_of, order)
            if claim is not None:
                claims.append(claim)
    return claims


def _statement_claim(story: str, members: list[_Statement], articles: dict[str, Article],
                     group_of: dict[str, str], order: dict[str, int]) -> Optional[Claim]:
    firsts: dict[str, _Statement] = {}
    for st in members:
        firsts.setdefault(st.article_id, st)
    if len({group_of.get(a, a) for a in firsts}) < 2:
        return None
    texts = {(st.article_id, st.span): normalise(articles[st.article_id].text[st.span[0]:st.span[1]])
             for st in firsts.values()}
    as_figures = [Figure(st.article_id, st.span, st.span, "", 0, 0, 0, "exact", "statement", "")
                  for st in firsts.values()]
    support = _support(as_figures, group_of, texts)
    if support < 2:
        return None
    lead = members[0]
    text = articles[lead.article_id].text[lead.span[0]:lead.span[1]]
    cites = [Citation(st.article_id, st.span) for st in sorted(firsts.values(), key=lambda x: order.get(x.article_id, 0))]
    cites.sort(key=lambda c: c.article_id != lead.article_id)
    return Claim(id=content_id("c", story, "statement", normalise(text)), text=text, citations=cites,
                 independent_support=support)


# ---------------------------------------------------------------------------
# Stage
# ---------------------------------------------------------------------------

def story_map(analysis: Analysis) -> dict[str, str]:
    """Article id -> story id; every article forms one story when no story stage ran."""
    stories = analysis.want("stories")
    out = story_of(stories)
    for a in analysis.articles:
        out.setdefault(a.id, "all" if not stories else f"alone:{a.id}")
    return out


def group_map(analysis: Analysis) -> dict[str, str]:
    """Article id -> source group key; each article is its own group when no groups exist."""
    out: dict[str, str] = {}
    for g in analysis.want("source_groups"):
        for aid in g.article_ids:
            out.setdefault(aid, f"{g.story_id}:{g.origin_id}")
    for a in analysis.articles:
        out.setdefault(a.id, a.id)
    return out


FIGURES = work.Fact("figures", "1", Figure)


def extract_claims(analysis: Analysis) -> list[Claim]:
    """Claims of every story in ``analysis``."""
    checks = {c.article_id: c for c in analysis.want("date_checks")}
    figures: list[Figure] = []
    statements: list[_Statement] = []
    for article in analysis.articles:
        try:
            dct, implicit = _dct(article, checks)
            mine = work.kept(FIGURES, (*work.article_parts(article), str(dct), str(implicit)),
                             lambda: article_figures(article, dct, implicit))
            if article.is_english and analysis.options.get("statement_claims", True):
                statements += article_statements(article, {f.sentence for f in mine})
            figures += mine
        except Exception as exc:  # a bad article must not stop the batch
            analysis.fail(exc, article.id)
    articles = {a.id: a for a in analysis.articles}
    order = {a.id: i for i, a in enumerate(analysis.articles)}
    figures_of = analysis.cache.setdefault(FIGURES_CACHE, {})
    stories, groups = story_map(analysis), group_map(analysis)
    summaries: dict[str, dict] = {}
    claims = build_claims(figures, articles, stories, groups, order, figures_of, summaries)
    blob = json.dumps(summaries, sort_keys=True).encode("utf-8")
    analysis.state_out[FIGURES_STATE] = blob
    if analysis.spec is None and analysis.store is not None:  # a direct call, outside the engine
        analysis.store.put_state(FIGURES_STATE, blob)
    return claims + statement_claims(statements, articles, stories, groups, order)


@stage("claims", needs=("stories",), wants=("source_groups", "date_checks"), adds={"claims": Claim})
def claims_stage(analysis: Analysis) -> dict[str, list[Claim]]:
    """Stage: figures grouped across sources into claims, with independent support and conflicts."""
    return {"claims": extract_claims(analysis)}
