"""Provenance: which article copies or rewrites which, and how many independent sources remain.

Three layers, cheapest first:

1. Exact and near duplicates across the whole store: a MinHash signature of
   word 5-gram shingles per article, looked up in a datasketch MinHash LSH
   index. Each duplicate group keeps one representative in the index, so
   hundreds of copies cost one lookup each and add one edge each.
2. Within a story, sentence alignment between article pairs: verbatim and
   near-verbatim sentences from word overlap, paraphrases from sentence
   embeddings; the doubtful ones go to a cross-encoder (the *rewrite judge*,
   :mod:`storydesk.models.judge`, trained by ``training/train_judge.py``). Two articles are linked only
   when many sentences align, in roughly the same order: two outlets covering
   one event in their own words share facts, not a sequence of sentences.
3. Direction (which one is the source) from attribution cues ("told The
   Associated Press", "first reported by"), wire credits (bylines, datelines
   "CITY (AP) -"), then publication times; ``direction_basis`` says which, or
   ``unknown``. Articles linked by reuse form one :class:`SourceGroup`: they
   share an origin and count once.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable, Optional

import numpy as np

from ..pipeline import Analysis, stage
from ..records import Alignment, Article, Reuse, SourceGroup, Story
from ..models.judge import judge_pairs
from ..text import alternation, load_data, normalise, sentence_spans, shingles, words

STATE_NAME = "provenance.v1"
# Bumped when alignments or verdicts are computed differently (2: the judge reads a pair in one
# order and skips pairs that cannot link): state saved by another version is started afresh.
STATE_VERSION = 2
MINHASH_SCHEME = "affine32"  # datasketch >= 2 needs it named to rebuild signatures from state


@dataclass(frozen=True)
class ProvenanceConfig:
    """Tunable knobs (set on the writers' own fixtures and the seeds, see tests)."""

    num_perm: int = 64  # MinHash permutations
    dup_threshold: float = 0.8  # 5-gram Jaccard at which two articles are duplicates
    max_chars: int = 50_000  # cap on text read per article (extremely long input)
    max_sentences: int = 120  # sentences per article used for alignment
    min_words: int = 6  # sentences shorter than this (outside quotes) are no evidence
    cos_floor: float = 0.60  # embedding cosine below which a pair is never a paraphrase
    cos_sure: float = 0.70  # cosine at which a mutual-best pair is a paraphrase without the judge
    judge_min: float = 0.50  # judge probability that admits a pair between cos_floor and cos_sure
    min_aligned: int = 3  # copied sentences needed to link two articles
    min_aligned_paraphrase: int = 4  # aligned sentences needed when some are reworded
    min_coverage: float = 0.35  # share of the smaller side's sentences that must align (in order)
    # A link with reworded sentences needs this share of the narration (words outside
    # quotation marks) of the side with less narration aligned, in order: independent
    # reports of one event share facts, a rewrite follows its source's sentences.
    min_narration_share: float = 0.5
    max_partners: int = 60  # articles of one story one article is compared with
    max_candidates: int = 100  # LSH candidates verified per article
    paraphrase: bool = True  # False: copies only, no sentence model (fast, offline-light)


# -- near duplicates ----------------------------------------------------------

@lru_cache(maxsize=8)
def _lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """The bands and rows datasketch picks for ``threshold``: found by numerical integration
    (a tenth of a second), once per process instead of for every story's index."""
    from datasketch import MinHashLSH
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


class NearDupIndex:
    """Exact and near-duplicate detection over the store (MinHash LSH, incremental)."""

    def __init__(self, cfg: Optional[ProvenanceConfig] = None):
        from datasketch import MinHashLSH
        self.cfg = cfg or ProvenanceConfig()
        self.lsh = MinHashLSH(threshold=self.cfg.dup_threshold, num_perm=self.cfg.num_perm,
                              params=_lsh_bands(self.cfg.dup_threshold, self.cfg.num_perm))
        self.signatures: dict[str, np.ndarray] = {}  # representatives only
        self.by_text: dict[str, str] = {}  # text digest -> first article with that text
        self.rep: dict[str, str] = {}  # article id -> representative of its duplicate group
        self.pairs: list[tuple[str, str, float]] = []  # (representative, duplicate, jaccard)

    def add(self, article: Article) -> Optional[str]:
        """Index ``article``; return the representative it duplicates, if any."""
        if article.id in self.rep:
            return None if self.rep[article.id] == article.id else self.rep[article.id]
        text = (article.text or "")[: self.cfg.max_chars]
        if not text.strip():
            self.rep[article.id] = article.id  # empty text duplicates nothing
            return None
        digest = hashlib.sha1(normalise(text).encode()).hexdigest()
        if digest in self.by_text:
            return self._join(article.id, self.rep[self.by_text[digest]], 1.0)
        self.by_text[digest] = article.id
        mh = self._minhash(text)
        best, best_j = None, 0.0
        # Representatives only are indexed, so candidates stay few; the cap bounds
        # the worst case (pages sharing long boilerplate) all the same.
        for other in sorted(self.lsh.query(mh))[: self.cfg.max_candidates]:
            j = float(np.mean(self.signatures[other] == mh.hashvalues))
            if j > best_j:
                best, best_j = other, j
        if best is not None and best_j >= self.cfg.dup_threshold:
            return self._join(article.id, best, best_j)
        self.rep[article.id] = article.id
        self.signatures[article.id] = mh.hashvalues
        self.lsh.insert(article.id, mh)
        return None

    def _join(self, article_id: str, rep: str, jaccard: float) -> str:
        self.rep[article_id] = rep
        self.pairs.append((rep, article_id, round(jaccard, 3)))
        return rep

    def _minhash(self, text: str):
        from datasketch import MinHash
        mh = MinHash(num_perm=self.cfg.num_perm, seed=1, scheme=MINHASH_SCHEME)
        mh.update_batch([s.encode("utf-8") for s in shingles(text, 5)])
        return mh

    def dumps(self) -> dict[str, Any]:
        sig = {k: base64.b64encode(v.astype(np.uint64).tobytes()).decode() for k, v in self.signatures.items()}
        return {"sig": sig, "by_text": self.by_text, "rep": self.rep, "pairs": self.pairs}

    @classmethod
    def loads(cls, data: dict[str, Any], cfg: Optional[ProvenanceConfig] = None) -> "NearDupIndex":
        from datasketch import MinHash
        index = cls(cfg)
        index.by_text, index.rep = data["by_text"], data["rep"]
        index.pairs = [tuple(p) for p in data["pairs"]]
        for k, b64 in data["sig"].items():
            values = np.frombuffer(base64.b64decode(b64), dtype=np.uint64).copy()
            index.signatures[k] = values
            index.lsh.insert(k, MinHash(num_perm=index.cfg.num_perm, seed=1, hashvalues=values,
                                        scheme=MINHASH_SCHEME))
        return index


def text_jaccard(a: str, b: str, n: int = 5) -> float:
    """Exact word ``n``-gram Jaccard of two texts."""
    x, y = shingles(a, n), shingles(b, n)
    return len(x & y) / max(1, len(x | y))


# -- sentence alignment -----------------------------------------------------------

@dataclass
class _Sents:
    spans: list[tuple[int, int]]
    texts: list[str]  # narration: the sentence with quoted text replaced by an ellipsis
    keys: list[str]  # normalised narration
    grams: list[set]  # word trigrams of the narration
    nwords: list[int]  # narration words


def _quoted(text: str) -> list[tuple[int, int]]:
    """Spans of quoted text, quotation marks included, across sentence boundaries."""
    from .quotes import quote_spans
    return [(max(0, q.start - 1), min(len(text), q.end + 1)) for q in quote_spans(text)]


def narration(text: str, start: int, end: int, quoted: list[tuple[int, int]]) -> str:
    """``text[start:end]`` with every quoted part replaced by an ellipsis.

    A shared quotation shows two outlets quoting one person, not one copying
    the other, so only the narration around it is evidence of reuse."""
    out, pos = [], start
    for qs, qe in quoted:
        if qe <= start or qs >= end:
            continue
        out.append(text[pos:max(pos, qs)])
        out.append(" \u2026 ")
        pos = max(pos, min(end, qe))
    out.append(text[pos:end])
    return " ".join("".join(out).split())


def _sentences(article: Article, cfg: ProvenanceConfig) -> _Sents:
    """Eligible sentences: with enough narration outside quotes (shared quotes are not reuse)."""
    text = (article.text or "")[: cfg.max_chars]
    quoted = _quoted(text)
    out = _Sents([], [], [], [], [])
    for s, e in sentence_spans(text):
        own_text = narration(text, s, e, quoted)
        own = words(own_text)
        if len(own) < cfg.min_words:
            continue
        out.spans.append((s, e))
        out.texts.append(own_text)
        out.keys.append(normalise(own_text))
        out.grams.append({" ".join(own[i:i + 3]) for i in range(len(own) - 2)})
        out.nwords.append(len(own))
        if len(out.spans) >= cfg.max_sentences:
            break
    return out


def _increasing_chain(seq: list[int]) -> list[int]:
    """Positions in ``seq`` of one longest strictly increasing subsequence."""
    import bisect
    tails: list[int] = []  # smallest tail value of a chain of each length
    tail_pos: list[int] = []
    back = [-1] * len(seq)
    for pos, x in enumerate(seq):
        k = bisect.bisect_left(tails, x)
        back[pos] = tail_pos[k - 1] if k else -1
        if k == len(tails):
            tails.append(x)
            tail_pos.append(pos)
        else:
            tails[k], tail_pos[k] = x, pos
    chain, pos = [], tail_pos[-1] if tail_pos else -1
    while pos >= 0:
        chain.append(pos)
        pos = back[pos]
    return chain[::-1]


def align_pair(a: Article, b: Article, cfg: ProvenanceConfig, cache: Optional[dict] = None,
               sents: Optional[dict[str, _Sents]] = None) -> Optional[dict[str, Any]]:
    """Align the sentences of two articles; return the evidence if one reuses the other.

    Copied sentences count wherever they are; paraphrased ones only along the
    longest chain that keeps both articles' order, because a rewrite follows
    its source while independent reports of one event share facts in any order.
    The result is direction-free: ``pairs`` are ``[i, j, similarity, kind]``
    sentence indices into ``a`` and ``b``; ``cov_a``/``cov_b`` are the shares
    of each side's eligible sentences that align. None when not related.
    """
    sents = sents if sents is not None else {}
    sa = sents.get(a.id) or _sentences(a, cfg)
    sb = sents.get(b.id) or _sentences(b, cfg)
    if not sa.spans or not sb.spans:
        return None
    lexical = _lexical_matches(sa, sb)
    found = dict(lexical)
    if cfg.paraphrase and a.is_english and b.is_english:
        found.update(_paraphrase_matches(sa, sb, lexical, cfg, cache))
    items = sorted((i, j, sim, kind) for j, (i, sim, kind) in found.items())
    chain = set(_increasing_chain([j for _, j, _, _ in items]))
    keep = [it for n, it in enumerate(items) if n in chain or it[3] == "verbatim"]
    if not _links(sa, sb, keep, cfg):
        return None
    return {"pairs": [[i, j, round(sim, 3), kind] for i, j, sim, kind in keep],
            "spans_a": [list(sa.spans[i]) for i, *_ in keep], "spans_b": [list(sb.spans[j]) for _, j, *_ in keep],
            "cov_a": round(len({i for i, *_ in keep}) / len(sa.spans), 3),
            "cov_b": round(len(keep) / len(sb.spans), 3)}


def _links(sa: _Sents, sb: _Sents, keep: list, cfg: ProvenanceConfig) -> bool:
    """The reuse rule: enough aligned sentences, and enough of the smaller side.

    Copied text may link short articles on fewer sentences (``min_aligned``,
    ``min_coverage`` of the smaller side's sentences). A link resting on any
    reworded sentence needs ``min_aligned_paraphrase`` sentences and, along the
    in-order chain, ``min_narration_share`` of the narration words of the side
    with less narration."""
    smaller = min(len(sa.spans), len(sb.spans))
    copied = all(k != "paraphrase" for *_, k in keep)
    needed = min(cfg.min_aligned, smaller) if copied else cfg.min_aligned_paraphrase
    if not keep or len(keep) < needed or len(keep) / smaller < cfg.min_coverage:
        return False
    if copied:
        return True
    share_a = sum(sa.nwords[i] for i, *_ in keep) / max(1, sum(sa.nwords))
    share_b = sum(sb.nwords[j] for _, j, *_ in keep) / max(1, sum(sb.nwords))
    return (share_a if sum(sa.nwords) <= sum(sb.nwords) else share_b) >= cfg.min_narration_share


def _lexical_matches(sa: _Sents, sb: _Sents) -> dict[int, tuple[int, float, str]]:
    """Verbatim and near-verbatim matches: for each sentence of b, its best sentence of a."""
    index: dict[str, list[int]] = {}
    for i, grams in enumerate(sa.grams):
        for g in grams:
            index.setdefault(g, []).append(i)
    exact = {k: i for i, k in enumerate(sa.keys)}
    out, used = {}, set()
    for j, key in enumerate(sb.keys):
        if key in exact and exact[key] not in used:
            out[j] = (exact[key], 1.0, "verbatim")
            used.add(exact[key])
            continue
        hits: dict[int, int] = {}
        for g in sb.grams[j]:
            for i in index.get(g, ()):
                hits[i] = hits.get(i, 0) + 1
        if not hits:
            continue
        i = max(sorted(hits), key=lambda k: hits[k] / max(1, len(sa.grams[k]), len(sb.grams[j])))
        share = hits[i] / max(1, min(len(sa.grams[i]), len(sb.grams[j])))
        # Most of the shorter sentence, and half of the longer, in shared word trigrams:
        # a short stock phrase inside a long sentence is not a copy.
        if share >= 0.7 and hits[i] >= 0.5 * max(len(sa.grams[i]), len(sb.grams[j])) and i not in used:
            out[j] = (i, round(share, 3), "near_verbatim")
            used.add(i)
    return out


def _paraphrase_candidates(sa: _Sents, sb: _Sents, taken: dict, cfg: ProvenanceConfig,
                           cache: Optional[dict]) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Mutual best embedding neighbours above ``cos_floor`` among sentences not yet matched."""
    from ..models.embeddings import embed
    if not sa.texts or not sb.texts:
        return [], np.zeros((len(sb.texts), len(sa.texts)))
    ea, eb = embed(sa.texts, cache), embed(sb.texts, cache)
    sim = eb @ ea.T  # rows: b sentences, cols: a sentences
    used_a = {i for i, _, _ in taken.values()}
    best_b = sim.argmax(0)
    cands = []
    for j in range(len(sb.texts)):
        i = int(sim[j].argmax())
        if j not in taken and sim[j, i] >= cfg.cos_floor and best_b[i] == j and i not in used_a:
            cands.append((i, j))
    return cands, sim


def _paraphrase_matches(sa: _Sents, sb: _Sents, taken: dict, cfg: ProvenanceConfig,
                        cache: Optional[dict]) -> dict[int, tuple[int, float, str]]:
    """Paraphrase matches: mutual best embedding neighbours, very close or accepted by the judge."""
    cands, sim = _paraphrase_candidates(sa, sb, taken, cfg, cache)
    out = {j: (i, float(sim[j, i]), "paraphrase") for i, j in cands if sim[j, i] >= cfg.cos_sure}
    unsure = [(i, j) for i, j in cands if sim[j, i] < cfg.cos_sure]
    if unsure and _could_link(sa, sb, taken, cands, cfg):  # only the doubtful pairs go to the (slower) judge
        proba = judge_pairs([(sa.texts[i], sb.texts[j]) for i, j in unsure], cache)
        out.update({j: (i, float(sim[j, i]), "paraphrase") for (i, j), p in zip(unsure, proba) if p >= cfg.judge_min})
    return out


def _could_link(sa: _Sents, sb: _Sents, lexical: dict, cands: list[tuple[int, int]], cfg: ProvenanceConfig) -> bool:
    """Whether the pair could pass :func:`_links` with a paraphrase even if the judge accepted
    every doubtful candidate: if not, judging cannot make a link and is skipped (at 1,000
    ECB+ articles the judge was a third of the analysis, mostly on pairs of independent reports)."""
    rows = {j: i for j, (i, _, _) in lexical.items()} | {j: i for i, j in cands}
    smaller = min(len(sa.spans), len(sb.spans))
    if len(rows) < cfg.min_aligned_paraphrase or len(rows) / smaller < cfg.min_coverage:
        return False
    share_a = sum(sa.nwords[i] for i in set(rows.values())) / max(1, sum(sa.nwords))
    share_b = sum(sb.nwords[j] for j in rows) / max(1, sum(sb.nwords))
    return (share_a if sum(sa.nwords) <= sum(sb.nwords) else share_b) >= cfg.min_narration_share


def reuse_kind(pairs: list) -> str:
    """Article-level kind from its aligned sentences' kinds.

    ``verbatim``: every aligned sentence is copied unchanged; ``near_verbatim``:
    most are copied, some with small edits; otherwise ``paraphrase``.
    """
    kinds = [p[3] for p in pairs]
    if all(k == "verbatim" for k in kinds):
        return "verbatim"
    if (kinds.count("verbatim") + kinds.count("near_verbatim")) >= 0.8 * len(kinds):
        return "near_verbatim"
    return "paraphrase"


# -- direction -----------------------------------------------------------------

@lru_cache(maxsize=1)
def _agency_aliases() -> list[tuple[str, list[str]]]:
    return [(a["name"], a["aliases"]) for a in load_data("wire_agencies.json")["agencies"]]


def _alternation(names: Iterable[str]) -> str:
    body = alternation(names)
    return "(?-i:" + body + ")" if body else "(?!)"


@lru_cache(maxsize=1024)
def _cue_patterns(extra: tuple[str, ...]) -> dict[str, list[re.Pattern]]:
    """Credit cues naming one of ``extra``, or (``extra`` empty) a wire agency.

    Two sets, not one alternation of everything: the agency set is large and compiled once,
    while a story asks for many small outlet sets (compiling the union per pair of articles
    was a tenth of a story's analysis)."""
    cues = load_data("attribution_cues.json")
    names = extra or tuple(al for _, aliases in _agency_aliases() for al in aliases)
    who = _alternation(names)
    return {kind: [re.compile(p.replace("{who}", f"(?P<who>{who})"), re.IGNORECASE) for p in cues[kind]]
            for kind in ("first_hand", "second_hand")}


def canonical_agency(name: str) -> Optional[str]:
    """The agency an alias names ("AP" -> "Associated Press"), or None."""
    for canon, aliases in _agency_aliases():
        if name.strip() in aliases or name.strip().casefold() == canon.casefold():
            return canon
    return None


def wire_credit(article: Article) -> Optional[str]:
    """The agency credited in metadata, dateline or byline, if any."""
    if article.wire:
        return canonical_agency(article.wire) or article.wire
    cues = load_data("attribution_cues.json")
    head = (article.text or "")[: cues["byline_window"]]
    m = re.search(cues["dateline"], head, re.MULTILINE)
    if m:
        return canonical_agency(m.group(1)) or m.group(1)
    for line in head.splitlines():
        line = line.strip().removeprefix("By ").strip()
        if canonical_agency(line) or canonical_agency(line.split(",")[-1]):
            return canonical_agency(line) or canonical_agency(line.split(",")[-1])
    return None


def cited(article: Article, kind: str, names: tuple[str, ...]) -> set[str]:
    """Agencies/outlets ``article`` credits with ``kind`` cues (canonical names)."""
    text = (article.text or "")[:50_000]
    found = set(_credits(text, kind, ()))
    if names:
        found.update(_credits(text, kind, names))
    return found


@lru_cache(maxsize=512)
def _credits(text: str, kind: str, names: tuple[str, ...]) -> tuple[str, ...]:
    # Cached: each article of a story is compared with every other, with the same cues.
    found = []
    for pat in _cue_patterns(names)[kind]:
        for m in pat.finditer(text):
            who = m.group("who")
            found.append(canonical_agency(who) or who.casefold())
    return tuple(dict.fromkeys(found))


def _name(value: Optional[str]) -> Optional[str]:
    """Canonical, case-folded name of an outlet or agency; an initialism stands
    for its full name ("MPA" and "Meridian Press Agency" compare equal)."""
    if not value or not value.strip():
        return None
    name = (canonical_agency(value) or value.strip()).casefold()
    parts = re.findall(r"[^\W\d_]+", name)
    return "".join(p[0] for p in parts if p not in ("the", "of", "and")) if len(parts) > 1 else name


def direction(a: Article, b: Article) -> tuple[Article, Article, str]:
    """Return ``(source, derived, basis)`` for two related articles.

    Explicit credits first (they are text evidence), then wire credits, then
    publication times, which can be wrong (a page date that does not fit).
    """
    names = tuple(sorted({n for x in (a, b) for n in (x.outlet, x.wire) if n}))
    outlet = {x.id: _name(x.outlet) for x in (a, b)}
    wire = {x.id: _name(wire_credit(x)) for x in (a, b)}
    origin = {x.id: {n for n in (outlet[x.id], wire[x.id]) if n} for x in (a, b)}
    # 1. The derived one credits the other's outlet or agency ("first reported by X").
    for src, dst in ((a, b), (b, a)):
        credited = {_name(n) for n in cited(dst, "second_hand", names)}
        if credited & origin[src.id] - origin[dst.id]:
            return src, dst, "attribution_cue"
    # 2. One is the agency's own copy and the other carries that agency's credit.
    for src, dst in ((a, b), (b, a)):
        if wire[dst.id] and outlet[src.id] == wire[dst.id] and outlet[dst.id] != outlet[src.id]:
            return src, dst, "wire_credit"
    # 3. First-hand reporting cue ("told The Associated Press") present in only one.
    fa = {_name(n) for n in cited(a, "first_hand", names)}
    fb = {_name(n) for n in cited(b, "first_hand", names)}
    if fa - fb and not fb - fa:
        return a, b, "attribution_cue"
    if fb - fa and not fa - fb:
        return b, a, "attribution_cue"
    # 4. A wire credit on only one side: the wire copy is closer to the origin.
    if wire[a.id] and not wire[b.id]:
        return a, b, "wire_credit"
    if wire[b.id] and not wire[a.id]:
        return b, a, "wire_credit"
    # 5. Publication times (compared by day when either has no time of day).
    ta, tb = _when(a.published), _when(b.published)
    if ta and tb:
        if len(a.published) <= 10 or len(b.published) <= 10:
            ta, tb = ta.date(), tb.date()
        if ta != tb:
            return (a, b, "published_time") if ta < tb else (b, a, "published_time")
    return a, b, "unknown"


def _when(value: Optional[str]) -> Optional[datetime]:
    """Parse an ISO date or datetime into naive UTC; None when absent or malformed."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = (when - when.utcoffset()).replace(tzinfo=None)
    return when


# -- the stage -------------------------------------------------------------------

class ProvenanceState:
    """Persisted work: the near-duplicate index and every aligned pair seen so far."""

    def __init__(self, cfg: Optional[ProvenanceConfig] = None):
        self.cfg = cfg or ProvenanceConfig()
        self.dups = NearDupIndex(self.cfg)
        self.aligned: dict[str, Optional[dict]] = {}  # "id_a|id_b" (sorted) -> evidence or None

    def dumps(self) -> bytes:
        data = {"version": STATE_VERSION, "dups": self.dups.dumps(), "aligned": self.aligned}
        return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 3)

    @classmethod
    def loads(cls, blob: Optional[bytes], cfg: Optional[ProvenanceConfig] = None) -> "ProvenanceState":
        """State from :meth:`dumps` output (empty state for None or b"")."""
        state = cls(cfg)
        if blob:
            data = json.loads(zlib.decompress(blob))
            if data.get("version") != STATE_VERSION:
                return state
            state.dups = NearDupIndex.loads(data["dups"], state.cfg)
            state.aligned = data["aligned"]
        return state

    def dumps_story(self, verdicts: dict) -> bytes:
        """The state with the judge's verdicts on this story's sentence pairs."""
        data = {"version": STATE_VERSION, "dups": self.dups.dumps(), "aligned": self.aligned,
                "verdicts": [[a, b, float(p)] for (a, b), p in verdicts.items()]}
        return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 3)

    @classmethod
    def loads_story(cls, blob: Optional[bytes], cfg: Optional[ProvenanceConfig] = None
                    ) -> tuple["ProvenanceState", dict]:
        """State and verdicts from :meth:`dumps_story` (fresh ones if absent or unreadable)."""
        try:
            state = cls.loads(blob, cfg)
            data = json.loads(zlib.decompress(blob)) if blob else {}
            if data.get("version") != STATE_VERSION:
                return state, {}
            return state, {(a, b): p for a, b, p in data.get("verdicts", [])}
        except (ValueError, KeyError, TypeError, zlib.error):
            return cls(cfg), {}

    @classmethod
    def load(cls, store, cfg: Optional[ProvenanceConfig] = None) -> "ProvenanceState":
        """The state persisted in ``store``; a fresh one if absent or saved by another version."""
        try:
            return cls.loads(store.get_state(STATE_NAME), cfg)
        except (ValueError, KeyError, TypeError, zlib.error):
            return cls(cfg)


def find_provenance(articles: list[Article], stories: list[Story], state: Optional[ProvenanceState] = None,
                    cache: Optional[dict] = None) -> tuple[list[Reuse], list[SourceGroup], ProvenanceState]:
    """Reuse edges and source groups for ``articles`` grouped in ``stories``.

    Work already done (duplicate lookups, aligned pairs) is read from ``state``
    and new work is added to it, so a growing store only pays for new articles.
    """
    state = state or ProvenanceState()
    cfg = state.cfg
    cache = {} if cache is None else cache  # embeddings are reused across pairs
    by_id = {a.id: a for a in articles}
    for a in articles:
        state.dups.add(a)
    sents: dict[str, _Sents] = {}
    reuse = []
    origin_of, jaccard = _duplicate_origins(state.dups, by_id)
    for member, origin in origin_of.items():
        if member != origin:
            reuse.append(_dup_record(by_id[origin], by_id[member], jaccard[member], state, sents, cache))
    for story in stories:
        members = [a for a in story.article_ids if a in by_id]
        inside = set(members)
        # Duplicates are represented by their group's first copy (if in this story): align once.
        reps = list(dict.fromkeys(r if (r := origin_of.get(a, a)) in inside else a for a in members))
        _embed_story(reps, by_id, state, sents, cache)
        for i, b_id in enumerate(reps):
            for a_id in _partners(reps, i, cfg.max_partners):
                evidence = _aligned(by_id[a_id], by_id[b_id], state, sents, cache)
                if evidence:
                    reuse.append(_aligned_record(by_id[a_id], by_id[b_id], evidence))
    groups = source_groups(stories, reuse, state.dups.rep, by_id)
    return reuse, groups, state


def _embed_story(reps: list[str], by_id: dict[str, Article], state: "ProvenanceState", sents: dict,
                 cache: Optional[dict]) -> None:
    """Embed, in one batch, the sentences of every article that still has a pair to align."""
    from ..models.embeddings import embed
    if cache is None or len(reps) < 2 or not state.cfg.paraphrase:
        return
    todo = []
    for i, b_id in enumerate(reps):
        for a_id in _partners(reps, i, state.cfg.max_partners):
            if "|".join(sorted((a_id, b_id))) not in state.aligned:
                todo += [a_id, b_id]
    texts = []
    for art in dict.fromkeys(todo):
        if by_id[art].is_english:
            sents.setdefault(art, _sentences(by_id[art], state.cfg))
            texts += sents[art].texts
    if not texts:
        return
    embed(texts, cache)
    # Judge every doubtful sentence pair of the story in one batch; alignment reads the cache.
    doubtful = []
    for a_id, b_id in zip(todo[::2], todo[1::2]):
        x, y = sorted((a_id, b_id))
        if not (by_id[x].is_english and by_id[y].is_english):
            continue
        sa, sb = sents[x], sents[y]
        lexical = _lexical_matches(sa, sb)
        cands, sim = _paraphrase_candidates(sa, sb, lexical, state.cfg, cache)
        if not _could_link(sa, sb, lexical, cands, state.cfg):
            continue
        for i, j in cands:
            if sim[j, i] < state.cfg.cos_sure:
                doubtful.append((sa.texts[i], sb.texts[j]))
    judge_pairs(doubtful, cache)


def _duplicate_origins(dups: NearDupIndex, by_id: dict[str, Article]) -> tuple[dict[str, str], dict[str, float]]:
    """For each duplicate group, the member the others come from (by :func:`direction`,
    else the first to arrive): ``{member: origin}`` and each member's Jaccard to the group."""
    groups: dict[str, list[str]] = {}
    jac: dict[str, float] = {}
    for rep, dup, j in dups.pairs:
        if rep in by_id and dup in by_id:
            groups.setdefault(rep, [rep]).append(dup)
            jac[dup] = j
    origin_of = {}
    for rep, members in groups.items():
        best = members[0]
        for m in members[1:]:
            src, _, basis = direction(by_id[best], by_id[m])
            if basis != "unknown" and src.id == m:
                best = m
        jac[rep] = jac[best] if best != rep else 1.0
        origin_of.update({m: best for m in members})
    return origin_of, jac


def _partners(reps: list[str], i: int, cap: int) -> list[str]:
    """Earlier representatives to compare with: the story's first ones and the most recent ones."""
    earlier = reps[:i]
    if len(earlier) <= cap:
        return earlier
    head = earlier[: cap // 4]
    return head + earlier[-(cap - len(head)):]


def _aligned(a: Article, b: Article, state: ProvenanceState, sents: dict, cache: Optional[dict]) -> Optional[dict]:
    """Alignment evidence for a pair, computed once and kept in ``state``."""
    x, y = sorted((a, b), key=lambda art: art.id)
    key = f"{x.id}|{y.id}"
    if key not in state.aligned:
        for art in (x, y):
            if art.id not in sents:
                sents[art.id] = _sentences(art, state.cfg)
        state.aligned[key] = align_pair(x, y, state.cfg, cache, sents)
    return state.aligned[key]


def _dup_record(rep: Article, dup: Article, jaccard: float, state: ProvenanceState, sents: dict,
                cache: Optional[dict]) -> Reuse:
    """A near-duplicate pair: the same outlet's copy is a ``duplicate``; another
    outlet's republication is ``verbatim`` or ``near_verbatim``, with its alignments."""
    if _name(rep.outlet) != _name(dup.outlet):
        evidence = _aligned(rep, dup, state, sents, cache)
        if evidence:
            record = _aligned_record(rep, dup, evidence)
            if record.kind == "paraphrase":
                record.kind = "near_verbatim"  # 5-gram Jaccard >= 0.8 is not a rewrite
            return record
    src, der, basis = direction(rep, dup)
    if basis == "unknown":
        src, der = rep, dup  # arrival order: the first copy stands for the group
    kind = "duplicate" if _name(rep.outlet) == _name(dup.outlet) else (
        "verbatim" if jaccard >= 0.99 else "near_verbatim")
    return Reuse(source_id=src.id, derived_id=der.id, kind=kind, coverage=float(jaccard), direction_basis=basis)


def _aligned_record(first: Article, later: Article, ev: dict) -> Reuse:
    """A reuse record from direction-free evidence (``first`` arrived before ``later``)."""
    src, der, basis = direction(first, later)
    x = min(first.id, later.id)  # evidence is oriented by sorted ids
    spans = {x: ev["spans_a"], max(first.id, later.id): ev["spans_b"]}
    cover = {x: ev["cov_a"], max(first.id, later.id): ev["cov_b"]}
    alignments = [Alignment(source_span=tuple(s), derived_span=tuple(d), similarity=p[2])
                  for s, d, p in zip(spans[src.id], spans[der.id], ev["pairs"])]
    return Reuse(source_id=src.id, derived_id=der.id, kind=reuse_kind(ev["pairs"]),
                 coverage=cover[der.id], direction_basis=basis, alignments=alignments)


def source_groups(stories: list[Story], reuse: list[Reuse], rep: dict[str, str],
                  by_id: dict[str, Article]) -> list[SourceGroup]:
    """Per story, the articles connected by reuse; each group counts as one source."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for r in reuse:
        ra, rb = find(r.source_id), find(r.derived_id)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    derived = {r.derived_id for r in reuse if r.direction_basis != "unknown"}
    order = {a: n for n, a in enumerate(by_id)}
    out = []
    for story in stories:
        comps: dict[str, list[str]] = {}
        for a in story.article_ids:
            if a in by_id:
                comps.setdefault(find(a), []).append(a)
        for members in comps.values():
            roots = [a for a in members if a not in derived] or members
            origin = min(roots, key=lambda a: (_when(by_id[a].published) or datetime.max, order[a]))
            out.append(SourceGroup(story_id=story.id, origin_id=origin, article_ids=members))
    return out


def update_provenance(store, articles: Optional[list[Article]] = None, stories: Optional[list[Story]] = None,
                      cache: Optional[dict] = None,
                      cfg: Optional[ProvenanceConfig] = None) -> tuple[list[Reuse], list[SourceGroup]]:
    """Provenance over the whole store in one pass (for scripts; the engine runs it per story)."""
    articles = store.articles() if articles is None else articles
    if stories is None:
        stories = store.get_records("stories", Story)
    state = ProvenanceState.load(store, cfg)
    reuse, groups, state = find_provenance(articles, stories, state, cache)
    with store.transaction():
        store.put_state(STATE_NAME, state.dumps())
    return reuse, groups


STORY_STATE = "provenance"  # the per-story state: aligned pairs, judge verdicts, near-duplicate index


@stage("provenance", needs=("stories", "sentence_vectors"), adds={"reuse": Reuse, "source_groups": SourceGroup},
       version="3")
def provenance_stage(analysis: Analysis) -> dict[str, list]:
    """Pipeline stage: duplicates, sentence-aligned reuse and independent source groups of one story.

    What was aligned and judged before is read from the story's state, so a story that
    gains an article only aligns the new pairs.
    """
    from ..models.judge import CACHE_KEY as JUDGE_KEY
    state, verdicts = ProvenanceState.loads_story(analysis.state.get(STORY_STATE))
    analysis.cache.setdefault(JUDGE_KEY, {}).update(verdicts)
    stories = analysis.get("stories") or [Story(id="all", label="", article_ids=[a.id for a in analysis.articles])]
    reuse, groups, state = find_provenance(analysis.articles, stories, state, analysis.cache)
    analysis.state_out[STORY_STATE] = state.dumps_story(analysis.cache.get(JUDGE_KEY, {}))
    return {"reuse": reuse, "source_groups": groups}


def story_provenance(store, story_id: str) -> dict[str, Any]:
    """Stored provenance of one story (a unique id prefix is enough), with aligned sentence texts."""
    from ..queries import find_story
    story = find_story(store, story_id)
    reuse = store.get_records("reuse", Reuse, story_id=story.id)
    groups = store.get_records("source_groups", SourceGroup, story_id=story.id)
    by_id = {a.id: a for a in store.articles(story.article_ids)}
    rows = []
    for r in reuse:
        if r.source_id not in by_id or r.derived_id not in by_id:
            continue
        src, der = by_id[r.source_id].text, by_id[r.derived_id].text
        pairs = [{"similarity": al.similarity, "source_span": list(al.source_span),
                  "derived_span": list(al.derived_span), "source_text": src[al.source_span[0]:al.source_span[1]],
                  "derived_text": der[al.derived_span[0]:al.derived_span[1]]} for al in r.alignments]
        rows.append({**{k: v for k, v in r.to_dict().items() if k != "alignments"}, "pairs": pairs})
    return {"story": story.to_dict(), "reuse": rows, "source_groups": [g.to_dict() for g in groups]}
