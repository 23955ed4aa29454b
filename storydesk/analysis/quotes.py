"""Quotes: who said what, and whether outlets quote them the same way.

Direct and partial quotes are found from quote marks (straight or curly; a
paragraph always closes an open quote, and a quote is capped, so a stray mark
never swallows an article). Speakers come from the dependency parse around
the quote: the subject of a cue verb ("said", "told"), a description ("a
spokesperson for the ministry") or a pronoun resolved to the nearest fitting
person. Reported speech is kept as ``indirect`` where the parse is clear:
"X said that ...", a clause set off by commas ("The dam, he said, ...",
"..., officials said"), "according to X", and the frames of cue_verbs.json
(beliefs, findings of documents, refusals, demands). One statement has one
attribution: a cue inside what an outer cue reports is the outer one's.
Quotes are then matched across the articles of a story.

Conventions: ``Quote.span`` is the text inside the marks (trailing comma
dropped); for a pronoun or "who" resolved to a person, ``Speaker.text`` is the
person's name and ``Speaker.span`` the pronoun (the local evidence). A
``misattributed_narration`` match has no other quote to point at: its
``article_id`` and ``span`` give the narration (``quote_id`` repeats the
article id), and its text is in ``diff`` and in a Flag of the same kind.
"""
from __future__ import annotations

import bisect
import difflib
import functools
import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .. import work
from ..models import nlp as nlpmod
from .entities import person_nouns, title_gender
from ..pipeline import stage
from ..records import Entity, Flag, Quote, QuoteMatch, Record, Speaker, content_id
from ..text import load_data, paragraph_spans, words

MAX_QUOTE_CHARS = 1500  # a longer "quote" is cut at a sentence end and flagged
PRONOUN_WINDOW = 3  # paragraphs searched back for a pronoun's person
_OPEN = {"\u201c": "\u201d", "\u201e": "\u201d", "\u00ab": "\u00bb", '"': '"'}
_CLOSE = {"\u201d", "\u00bb"}
_SINGLE_OPEN, _SINGLE_CLOSE = "\u2018", "\u2019"
_TWO_APOSTROPHES = "''"  # a double quote mark in some wire and archive copy (''We are ready,'' he said)
_ELLIPSIS = re.compile(r"\u2026|\.\s?\.\s?\.|\[[^\]]*\]")
_SUBJ = ("nsubj", "nsubjpass")
_RELATIVE = {"who", "which", "that", "whom", "what"}


@functools.lru_cache(maxsize=1)
def _cues() -> dict:
    data = load_data("cue_verbs.json")
    return {"speech": frozenset(data["speech"]), "indirect": frozenset(data["reliable_indirect"]),
            "passive": frozenset(data["passive"])}


@functools.lru_cache(maxsize=1)
def _pronouns() -> dict[str, list[str]]:
    return {k: v for k, v in load_data("pronouns.json").items() if not k.startswith("_")}


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | {"s", "'s", "said", "says", "say"}


# -- quote marks -------------------------------------------------------------
@dataclass
class QuoteSpan:
    """Text between quote marks (offsets of the inner text) and what went wrong finding it."""

    start: int
    end: int
    flags: list[Flag] = field(default_factory=list)


def quote_spans(text: str) -> list[QuoteSpan]:
    """Find quoted passages; never crosses a paragraph, never longer than MAX_QUOTE_CHARS."""
    paras = paragraph_spans(text)
    double = any(c in text for c in '"\u201c\u201d\u201e\u00ab') or _TWO_APOSTROPHES in text
    out: list[QuoteSpan] = []
    for n, (p_start, p_end) in enumerate(paras):
        spans = _scan_paragraph(text, p_start, p_end, double)
        if spans and spans[-1].flags and spans[-1].flags[-1].kind == "unclosed_quote":
            nxt = paras[n + 1] if n + 1 < len(paras) else None
            if nxt and (text[nxt[0]] in _OPEN or text.startswith(_TWO_APOSTROPHES, nxt[0])) or (
                    nxt and text[nxt[0]] == _SINGLE_OPEN and not double):
                # News style: a quote running over paragraphs reopens each one without closing.
                spans[-1].flags[-1] = Flag("spans_paragraphs", "continues in the next paragraph")
        out += spans
    for q in out:
        _cap(text, q)
    return [q for q in out if q.end > q.start and text[q.start:q.end].strip(" ,.;:")]


def _scan_paragraph(text: str, p_start: int, p_end: int, double: bool) -> list[QuoteSpan]:
    out: list[QuoteSpan] = []
    open_at: int | None = None
    closer = ""
    i = p_start
    while i < p_end:
        ch = text[i]
        if text.startswith(_TWO_APOSTROPHES, i) and (open_at is None or closer == _TWO_APOSTROPHES):
            if open_at is None and _can_open(text, i + 1, p_end, i):
                open_at, closer = i + 2, _TWO_APOSTROPHES
            elif open_at is not None and _can_close(text, i + 1):
                out.append(QuoteSpan(open_at, i))
                open_at, closer = None, ""
            i += 2
            continue
        if open_at is None:
            if (ch in _OPEN and _can_open(text, i, p_end)) or (not double and ch == _SINGLE_OPEN
                                                              and _can_open(text, i, p_end)):
                open_at, closer = i + 1, (_OPEN.get(ch) or _SINGLE_CLOSE)
            i += 1
            continue
        if ch == closer or (closer == '"' and ch == "\u201d") or (closer == "\u201d" and ch == '"'
                                                                   and _can_close(text, i)):
            if closer == _SINGLE_CLOSE and not _can_close(text, i):
                i += 1  # an apostrophe ("don't"), not a closing mark
                continue
            out.append(QuoteSpan(open_at, i))
            open_at = None
        elif ch in ("\u201c", "\u201e") and closer == "\u201d":
            # A second opening mark before any close: the first was never closed.
            out.append(QuoteSpan(open_at, i, [Flag("unbalanced_quote", "opening mark without a closing mark")]))
            open_at = i + 1
        i += 1
    if open_at is not None:
        end = p_end
        out.append(QuoteSpan(open_at, end, [Flag("unclosed_quote", "no closing mark before the paragraph ends")]))
    return out


def _can_open(text: str, i: int, p_end: int, mark_start: int | None = None) -> bool:
    """An opening mark at ``i`` (a two-character mark starts at ``mark_start``) follows a space or
    bracket and precedes a word."""
    start = i if mark_start is None else mark_start
    before = text[start - 1] if start > 0 else " "
    after = text[i + 1] if i + 1 < p_end else " "
    if mark_start is not None or text[i] in ('"', _SINGLE_OPEN):
        return (before.isspace() or before in "([{\u2014\u2013-/:;,") and not after.isspace() \
            and not (text[i] == '"' and before.isdigit())
    return True


def _can_close(text: str, i: int) -> bool:
    after = text[i + 1] if i + 1 < len(text) else " "
    return not after.isalnum()


def _cap(text: str, q: QuoteSpan) -> None:
    if q.end - q.start <= MAX_QUOTE_CHARS:
        return
    limit = q.start + MAX_QUOTE_CHARS
    cut = max(text.rfind(". ", q.start, limit), text.rfind("? ", q.start, limit), text.rfind("! ", q.start, limit))
    new_end = cut + 1 if cut > q.start + MAX_QUOTE_CHARS // 2 else limit
    q.flags.append(Flag("capped", f"quoted passage of {q.end - q.start} chars cut to {new_end - q.start}"))
    q.end = new_end


# -- speakers ----------------------------------------------------------------
@dataclass
class _Ctx:
    """What speaker finding needs about one article."""

    article: object
    doc: object
    quotes: list[QuoteSpan]
    mentions: list[tuple[int, int, str, str]]  # (start, end, entity_id, type), sorted
    names: dict[str, str]  # entity id -> canonical name
    genders: dict[str, str]
    paragraphs: list[tuple[int, int]]
    subjects: list[tuple[int, Speaker]] = field(default_factory=list)  # people as sentence subjects, in order

    def inside_quote(self, pos: int) -> bool:
        # Called for most tokens: bisect over the starts, with the furthest end reached so far.
        reach = getattr(self, "_reach", None)
        if reach is None:
            spans = sorted((q.start, q.end) for q in self.quotes)
            reach = self._reach = ([s for s, _ in spans], list(itertools.accumulate((e for _, e in spans), max)),
                                   spans)
        i = bisect.bisect_right(reach[0], pos) - 1
        return i >= 0 and reach[1][i] > pos

    def mention_at(self, start: int, end: int) -> tuple[int, int, str, str] | None:
        i = bisect.bisect_right(self.mentions, (end, 10**9)) - 1
        while i >= 0 and self.mentions[i][1] > start:
            m = self.mentions[i]
            if m[0] < end and m[1] > start:
                return m
            i -= 1
        return None

    def paragraph_of(self, pos: int) -> int:
        starts = getattr(self, "_starts", None)
        if starts is None:
            starts = self._starts = [p[0] for p in self.paragraphs]
        return max(0, bisect.bisect_right(starts, pos) - 1)

    def cue_indices(self) -> list[int]:
        """Token indices of the cue verbs outside quotes, in order (looked up per quote by bisect:
        scanning the sentence for each quote was quadratic in a long sentence of many quotes)."""
        found = getattr(self, "_cue_indices", None)
        if found is None:
            speech = _cues()["speech"]
            found = self._cue_indices = [t.i for t in self.doc if t.pos_ in ("VERB", "AUX")
                                         and t.lemma_.lower() in speech and not self.inside_quote(t.idx)]
        return found

    def according_indices(self) -> list[tuple[int, int]]:
        """(token index of 'according', of its object) for each 'according to X' outside quotes."""
        found = getattr(self, "_according", None)
        if found is None:
            found, doc = [], self.doc
            for t in doc:
                if t.lower_ == "according" and t.i + 2 < len(doc) and doc[t.i + 1].lower_ == "to" \
                        and not self.inside_quote(t.idx):
                    objs = [c for c in _children(doc[t.i + 1]) if c.dep_ == "pobj"]
                    if objs:
                        found.append((t.i, objs[0].i))
            self._according = found
        return found

    def finite_counts(self) -> list[int]:
        """counts[i]: finite verbs (VBD, VBZ, VBP, MD) among the first i tokens."""
        found = getattr(self, "_finite", None)
        if found is None:
            found = self._finite = [0, *itertools.accumulate(
                t.tag_ in ("VBD", "VBZ", "VBP", "MD") for t in self.doc)]
        return found

    def quoted_chars(self, start: int, end: int) -> int:
        """Chars of [start, end) inside quotes; a quote is at most MAX_QUOTE_CHARS long, so only those
        starting from MAX_QUOTE_CHARS before ``start`` can overlap (summing all was per clause)."""
        self.inside_quote(start)  # builds the sorted spans
        starts, _, spans = self._reach
        lo = bisect.bisect_left(starts, start - MAX_QUOTE_CHARS - 1)
        hi = bisect.bisect_left(starts, end)
        return sum(max(0, min(e, end) - max(s, start)) for s, e in spans[lo:hi])

    def clause_end(self, start: int, limit: int) -> int:
        """:func:`_clause_end` by bisect over the text's sentence ends and opening marks, found once:
        scanning from each quote to the next end was quadratic in a paragraph of ''-quoted words."""
        found = getattr(self, "_ends", None)
        text = self.article.text
        if found is None:
            from ..text import _abbreviations

            cands = [m.start() for m in _CLAUSE_END.finditer(text)]
            words_before = [_word_before(text, 0, m) for m in cands]
            skip = [text[m] == "." and w.lower() in _abbreviations() for m, w in zip(cands, words_before)]
            nxt, after = [len(cands)] * (len(cands) + 1), len(cands)
            for k in range(len(cands) - 1, -1, -1):
                after = after if skip[k] else k
                nxt[k] = after
            found = self._ends = (cands, [m - len(w) for m, w in zip(cands, words_before)], nxt)
        cands, word_start, nxt = found
        k = bisect.bisect_left(cands, start)
        if k < len(cands) and cands[k] < limit and text[cands[k]] == "." and word_start[k] < start:
            # The word before the first period runs back past ``start``: only its part after ``start``
            # counts (later periods have a period between them and ``start``).
            from ..text import _abbreviations

            if _word_before(text, start, cands[k]).lower() not in _abbreviations():
                return cands[k]
            k += 1
        return self._after(k, limit)

    def _after(self, k: int, limit: int) -> int:
        cands, _, nxt = self._ends
        k = nxt[k] if k < len(cands) else k
        return cands[k] if k < len(cands) and cands[k] < limit else limit

    def once(self, what: str, tok, compute):
        """``compute(tok)`` once per token: a cue verb heading a long sentence is asked about by every
        quote in it, and its children are many."""
        memo = self.__dict__.setdefault("_memo", {})
        key = (what, tok.i)
        if key not in memo:
            memo[key] = compute(tok)
        return memo[key]


@dataclass
class _Attribution:
    cue: str | None
    speaker: Speaker | None
    cue_token: object = None


def _token_range(doc, start: int, end: int) -> tuple[int, int]:
    """Token indices [i, j) of the tokens overlapping chars [start, end) (empty when none)."""
    span = doc.char_span(start, end, alignment_mode="expand") if end > start else None
    return (span.start, span.end) if span is not None else (0, 0)


def _tokens_between(doc, start: int, end: int):
    i, j = _token_range(doc, start, end)
    return list(doc[i:j]) if j > i else []


def _sentences(doc) -> list[tuple[int, int]]:
    """Char bounds of the Doc's sentences, computed once per Doc (``Token.sent`` rescans the Doc)."""
    cached = doc.user_data.get("storydesk_sents")
    if cached is None:
        # The parser sometimes runs a sentence over a paragraph break ('"...," he said.\n\nLenox was ...');
        # a paragraph always ends a sentence here.
        cached, text = [], doc.text  # Doc.text is rebuilt from the tokens on every access
        for sent in doc.sents:
            start = sent.start_char
            for m in re.finditer(r"\n\s*", text[sent.start_char:sent.end_char]):
                end = sent.start_char + m.end()
                if end < sent.end_char:
                    cached.append((start, end))
                    start = end
            cached.append((start, sent.end_char))
        doc.user_data["storydesk_sents"] = cached
    return cached


def _sentence_index(doc, pos: int) -> int:
    sents = _sentences(doc)
    return max(0, bisect.bisect_right(sents, (pos, 10**9)) - 1) if sents else 0


def _sentence_bounds(doc, pos: int) -> tuple[int, int]:
    sents = _sentences(doc)
    return sents[_sentence_index(doc, pos)] if sents else (pos, pos)


def _kids(doc) -> list[list[int]]:
    """Child indices of every token in order, once per Doc. spaCy finds a token's children by scanning
    its whole subtree's extent, and a subtree by doing so at every level: a chain of clauses ('X said Y
    said ...', 'died in A and died in B and ...') made every lookup as long as the rest of the chain."""
    kids = doc.user_data.get("storydesk_kids")
    if kids is None:
        kids = [[] for _ in range(len(doc))]
        for t in doc:
            if t.head.i != t.i:
                kids[t.head.i].append(t.i)
        doc.user_data["storydesk_kids"] = kids
    return kids


def _children(tok) -> list:
    """``tok.children`` (in the same order) from :func:`_kids`, made once per token (a clause's
    head with thousands of children is asked again by each rule; callers do not change the list)."""
    doc = tok.doc
    made = doc.user_data.setdefault("storydesk_children", {})
    found = made.get(tok.i)
    if found is None:
        found = made[tok.i] = [doc[i] for i in _kids(doc)[tok.i]]
    return found


def _subtree(tok) -> list:
    """``list(tok.subtree)`` in the same order (each left child's subtree, the token, each right
    child's subtree), without recursion: a chain of clauses is thousands of levels deep."""
    doc, kids = tok.doc, _kids(tok.doc)
    out, stack = [], [(tok.i, False)]
    while stack:
        i, placed = stack.pop()
        if placed:
            out.append(doc[i])
            continue
        stack += [(k, False) for k in reversed(kids[i]) if k > i]
        stack.append((i, True))
        stack += [(k, False) for k in reversed(kids[i]) if k < i]
    return out


def _find_cue(ctx: _Ctx, start: int, end: int, prefer: str) -> object | None:
    """The cue verb between ``start`` and ``end`` outside quotes, nearest to the quote."""
    i, j = _token_range(ctx.doc, start, end)
    cues = ctx.cue_indices()
    lo, hi = bisect.bisect_left(cues, i), bisect.bisect_left(cues, j)
    if lo >= hi:
        return None
    return ctx.doc[cues[lo] if prefer == "first" else cues[hi - 1]]


def _according_to(ctx: _Ctx, start: int, end: int):
    i, j = _token_range(ctx.doc, start, end)
    found = ctx.according_indices()
    k = bisect.bisect_left(found, (i, -1))
    if k < len(found) and found[k][0] < j:
        return ctx.doc[found[k][0]], ctx.doc[found[k][1]]
    return None


def _subject_of(verb, ctx: _Ctx | None = None):
    """The speaker token of a cue verb: its subject, a passive agent, or the subject of the verb it hangs on.
    With ``ctx``, quoted words are never the subject (the parse may take '"My reaction ...," X said' so)."""
    if ctx is not None:
        return ctx.once("subject", verb, lambda v: _find_subject(v, ctx))
    return _find_subject(verb, None)


def _find_subject(verb, ctx: _Ctx | None):
    subjects = [c for c in _children(verb) if c.dep_ in _SUBJ]
    if ctx is not None and subjects and all(ctx.inside_quote(c.idx) for c in subjects):
        return None
    for c in subjects:
        if ctx is None or not ctx.inside_quote(c.idx):
            return c
    for c in _children(verb):
        if c.dep_ == "agent":
            objs = [g for g in _children(c) if g.dep_ == "pobj"]
            if objs:
                return objs[0]
    if verb.dep_ in ("advcl", "xcomp", "conj", "acl") and verb.head is not verb:
        for c in _children(verb.head):
            if c.dep_ in _SUBJ:
                return c
    return None


def _speaker_from_token(ctx: _Ctx, tok) -> Speaker | None:
    """Turn the subject token of a cue into a Speaker (name, description or resolved pronoun)."""
    if tok is None:
        return None
    low = tok.lower_
    if tok.pos_ == "PRON" or low in _pronouns():
        if low in _RELATIVE and tok.head.dep_ == "relcl":
            # "a senator who said ...": the antecedent speaks; "who" is the local evidence (as for "he").
            antecedent = _speaker_from_token(ctx, tok.head.head)
            local = (tok.idx, tok.idx + len(tok.text))
            return Speaker(antecedent.text, antecedent.entity_id, local) if antecedent else None
        return _resolve_pronoun(ctx, tok)
    if low in _RELATIVE:
        return None
    # A name (possibly with an apposition: "Amad Hassane Boubacar, a ... professor").
    m = ctx.mention_at(tok.idx, tok.idx + len(tok.text))
    span = (m[0], m[1]) if m else None
    if m is None:
        for c in _children(tok):
            if c.dep_ == "appos":
                m = ctx.mention_at(c.idx, c.idx + len(c.text))
                if m:
                    # "The state's campaign chairman, Phil Lovas,": the name speaks, the whole subject is the evidence.
                    span = (min(tok.left_edge.idx, m[0]), max(m[1], tok.idx + len(tok.text)))
                    break
    if m is not None and m[3] in ("PERSON", "ORG", "GPE"):
        return Speaker(ctx.names.get(m[2], ctx.article.text[m[0]:m[1]]), m[2], span)
    for c in _children(tok):
        # "a woman who gave only her first name, Lidia": the name is the better speaker text.
        if c.dep_ == "appos" and c.pos_ == "PROPN" and c.is_title:
            name = ctx.doc[min(t.i for t in _subtree(c) if t.pos_ == "PROPN"):c.i + 1]
            return Speaker(name.text, None, (name.start_char, name.end_char))
    return _description(ctx, tok)


def _description(ctx: _Ctx, tok) -> Speaker | None:
    """'a spokesperson for the ministry', 'A Western military official' (no clauses, no appositions)."""
    ends = ctx.once("description", tok, _description_run)
    if ends is None:
        return None
    first, last = ctx.doc[ends[0]], ctx.doc[ends[1]]
    while last.i > first.i and (last.is_punct or last.is_space):
        last = ctx.doc[last.i - 1]
    span = ctx.doc[first.i:last.i + 1]
    text = span.text.strip()
    if not text or "\n" in text or len(text) > 120:
        return None
    return Speaker(text, None, (span.start_char, span.end_char))


def _description_run(tok) -> tuple[int, int] | None:
    """First and last token index of the subject's words within 12 tokens of it, clauses left out."""
    skip = set()
    for c in _children(tok):  # the children, as the subtree meets them
        if c.dep_ in ("relcl", "acl", "appos", "advcl", "punct", "parataxis"):
            skip |= {t.i for t in _subtree(c)}
    run = [t.i for t in _subtree(tok) if t.i not in skip and abs(t.i - tok.i) <= 12]
    return (run[0], run[-1]) if run else None


def _resolve_pronoun(ctx: _Ctx, tok) -> Speaker | None:
    """He/she -> the nearest earlier person who is a subject (a speaker or not) of fitting gender.

    "they"/"it" stand for groups, countries or several people: too ambiguous, kept as written.
    """
    kinds = _pronouns().get(tok.lower_)
    local = (tok.idx, tok.idx + len(tok.text))
    gender = {"person_male": "male", "person_female": "female"}.get(kinds[0]) if kinds else None
    if gender is None:
        return Speaker(tok.text, None, local)
    lo = ctx.paragraphs[max(0, ctx.paragraph_of(tok.idx) - PRONOUN_WINDOW)][0]
    for pos, speaker in reversed(ctx.subjects):
        if lo <= pos < tok.idx and not ctx.inside_quote(pos):
            g = ctx.genders.get(speaker.entity_id or speaker.text)
            if not (g and g != gender):
                return Speaker(speaker.text, speaker.entity_id, local)
    for start, end, eid, type_ in reversed(ctx.mentions):
        if lo <= start < tok.idx and type_ == "PERSON" and not ctx.inside_quote(start):
            g = ctx.genders.get(eid)
            if not (g and g != gender):
                return Speaker(ctx.names.get(eid, ctx.article.text[start:end]), eid, local)
    return Speaker(tok.text, None, local)


def attribute(ctx: _Ctx, q: QuoteSpan) -> _Attribution:
    """Find the cue and speaker of a quoted span from the sentence around it."""
    text = ctx.article.text
    close = q.end + 1 if q.end < len(text) else q.end
    s_start, _ = _sentence_bounds(ctx.doc, q.start)
    _, s_end = _sentence_bounds(ctx.doc, max(q.start, q.end - 1))
    # The sentence after the quote may hold the attribution ('"...," he said.'), the model often
    # puts a sentence break right after the closing mark.
    after_end = ctx.clause_end(close, ctx.paragraphs[ctx.paragraph_of(q.start)][1])
    after = _find_cue(ctx, close, max(after_end, min(s_end, after_end)), "first")
    if after is not None and not _adjacent(ctx, close, after):
        after = None
    before = _find_cue(ctx, s_start, max(s_start, q.start - 1), "last")
    governing = _governing_cue(ctx, q)
    for verb in (governing, after, before):
        if verb is None or ctx.once("negated", verb, lambda v: any(
                c.dep_ == "neg" and not ctx.inside_quote(c.idx) for c in _children(v))):
            continue  # "One can't say ..., but" is no attribution ('"Probably not," she said' is)
        subj = _subject_of(verb, ctx)
        speaker = _speaker_from_token(ctx, subj) or _speaker_between(ctx, close, verb) or _speaker_after(ctx, verb)
        if speaker is not None:
            return _Attribution(verb.text, _earlier_description(ctx, speaker), verb)
    dashed = _dash_speaker(ctx, close)
    if dashed is not None:
        return _Attribution(None, dashed)
    acc = _according_to(ctx, close, after_end) or _according_to(ctx, s_start, max(s_start, q.start - 1))
    if acc:
        return _Attribution("according to", _speaker_from_token(ctx, acc[1]), acc[0])
    return _Attribution(None, None)


_DASH_NAME = re.compile(r"[ \t\u00a0]*[\u2015\u2014\u2013][ \t\u00a0]*((?:[A-Z][\w.'\u2019-]*[ \u00a0]?){1,5})")


def _dash_speaker(ctx: _Ctx, close: int) -> Speaker | None:
    """'"..." ― Carla Sanchez': a name after a dash that follows the closing mark is the speaker."""
    m = _DASH_NAME.match(ctx.article.text, close)
    if not m:
        return None
    start, end = m.start(1), m.start(1) + len(m[1].rstrip(" .\u00a0"))
    hit = ctx.mention_at(start, end)
    if hit is not None and hit[3] == "PERSON":
        return Speaker(ctx.names.get(hit[2], ctx.article.text[hit[0]:hit[1]]), hit[2], (hit[0], hit[1]))
    return Speaker(ctx.article.text[start:end], None, (start, end))


def _governing_cue(ctx: _Ctx, q: QuoteSpan):
    """The cue verb the quoted words hang on in the parse ('X said the group "..."')."""
    toks = [t for t in _tokens_between(ctx.doc, q.start, q.end) if not t.is_punct and q.start <= t.idx < q.end]
    if not toks:
        return None
    tok, steps, found = toks[0], 0, None
    sentence = _sentence_index(ctx.doc, q.start)
    while tok.head is not tok and steps < 12:
        tok, steps = tok.head, steps + 1
        if not (q.start <= tok.idx < q.end) and tok.lemma_.lower() in _cues()["speech"] and tok.pos_ in ("VERB", "AUX") \
                and _sentence_index(ctx.doc, tok.idx) == sentence:
            found = tok  # the outermost cue: 'Ditto said she expects the campaign "to ..."' is Ditto's
    return found


def _adjacent(ctx: _Ctx, close: int, verb) -> bool:
    """The cue follows the quote closely ('"...," he said'; '"...," said a report by X')."""
    i, j = _token_range(ctx.doc, close, verb.idx)  # every token of the range starts before the verb
    if j - i > 14:
        return False
    between = list(ctx.doc[i:j])
    return len(between) <= 14 and not any(t.pos_ == "VERB" and not t.is_title for t in between)


def _earlier_description(ctx: _Ctx, speaker: Speaker) -> Speaker:
    """'the spokesperson' -> the 'a spokesperson for the ministry' introduced earlier in the article."""
    text = speaker.text.lower()
    if speaker.entity_id or not text.startswith("the ") or speaker.span is None:
        return speaker
    head = text.split()[-1]
    for pos, earlier in reversed(ctx.subjects):
        if pos < speaker.span[0] and not earlier.entity_id and earlier.text.lower().split()[0] in ("a", "an") \
                and head in earlier.text.lower().split():
            return Speaker(earlier.text, None, speaker.span)
    return speaker


_NAME_POS = {"PROPN", "NOUN", "DET", "ADJ", "PART", "NUM"}


def _speaker_between(ctx: _Ctx, close: int, verb) -> Speaker | None:
    """'"...," Tulsa police Chief Chuck Jordan said' when the parse gave the cue no subject: the words
    between the closing mark and the cue, if they are a name or a description (capitalised words the
    tagger took for verbs count as names)."""
    if verb.idx <= close:
        return None
    toks = []
    i, j = _token_range(ctx.doc, close, verb.idx)
    for t in ctx.doc[i:j] if j > i else ():
        if t.is_space or (t.is_punct and not toks):
            continue
        toks.append(t)
        if len(toks) > 8:
            return None  # read no further: a long stretch before the cue would be read once per quote
    if not toks or not all(t.pos_ in _NAME_POS or t.is_title for t in toks):
        return None
    start, end = toks[0].idx, toks[-1].idx + len(toks[-1].text)
    m = ctx.mention_at(start, end)
    if m is not None and m[3] == "PERSON":
        return Speaker(ctx.names.get(m[2], ctx.article.text[m[0]:m[1]]), m[2], (start, end))
    return Speaker(ctx.article.text[start:end], None, (start, end))


def _speaker_after(ctx: _Ctx, verb) -> Speaker | None:
    """'"...," said Amad Hassane Boubacar' when the parse gave the name no subject label."""
    nxt = [t for t in ctx.doc[verb.i + 1:verb.i + 6] if not t.is_punct]
    for t in nxt:
        if t.pos_ in ("PROPN", "NOUN") and not ctx.inside_quote(t.idx):
            return _speaker_from_token(ctx, t)
        if t.pos_ not in ("DET", "ADJ", "ADV"):
            break
    return None


_CLAUSE_END = re.compile(r"[.!?](?=\s|$)|[\u201c\u201e\u00ab]|(?<=\s)\"")


def _clause_end(text: str, start: int, limit: int) -> int:
    """End of the attribution clause after a closing mark: the next sentence end or opening mark
    (the period of a title such as 'Ms.' or 'Sen.' ends nothing)."""
    from ..text import _abbreviations

    for m in _CLAUSE_END.finditer(text, start, limit):
        if m.group() == "." and _word_before(text, start, m.start()).lower() in _abbreviations():
            continue
        return m.start()
    return limit


def _word_before(text: str, start: int, end: int) -> str:
    r"""The word characters (``\w``) that end ``text[start:end]``, read backwards: matching ``(\w+)$`` on
    the slice copied the clause so far at every period (quadratic in a run of 'Mr. Mr. ...')."""
    if end > start and text[end - 1] == "\n":
        end -= 1  # '$' also matches before a final newline
    i = end
    while i > start and (text[i - 1].isalnum() or text[i - 1] == "_"):
        i -= 1
    return text[i:end]


# -- quotes of one article --------------------------------------------------
def article_quotes(article, doc, entities: list[Entity], index=None) -> list[Quote]:
    """Direct, partial and indirect quotes of one article with speakers and flags (``index``:
    the article's entries of :func:`entity_indexes`, when already made)."""
    mentions, names, genders = index or entity_indexes(entities).get(article.id, ([], {}, {}))
    names, genders = dict(names), dict(genders)
    ctx = _Ctx(article, doc, quote_spans(article.text), mentions, names, genders,
               paragraph_spans(article.text) or [(0, len(article.text))])
    ctx.subjects = _person_subjects(ctx)
    ctx.genders.update(_infer_genders(ctx))
    found: list[Quote] = []
    prev: Quote | None = None
    parsed_len = nlpmod.text_length(doc)
    for q in ctx.quotes:
        if q.start >= parsed_len:
            continue  # beyond the parsed prefix of a capped article
        att = attribute(ctx, q)
        kind = _kind(article.text, q, att, ctx)
        flags = list(q.flags)
        if att.speaker is None and prev is not None and prev.speaker is not None and _continues(ctx, prev, q):
            att = _Attribution(prev.cue, prev.speaker)
        text = article.text[q.start:q.end].strip()
        text = re.sub(r"[,\s]+$", "", text)
        if any(c in text for c in "\u201c\u201d\u2018\"") or (_SINGLE_OPEN in text and _SINGLE_CLOSE in text):
            flags.append(Flag("nested_quote", "quote contains quoted words"))
        if att.speaker is None:
            flags.append(Flag("no_speaker", "no cue verb or speaker found near the quote"))
        quote = Quote(content_id("q", article.id, str(q.start), str(q.end)), article.id, (q.start, q.start + len(text)),
                      text, kind, att.cue, att.speaker, [], flags)
        found.append(quote)
        prev = quote
    reported, used = reported_speech(ctx)
    found += reported + indirect_quotes(ctx, used)
    found.sort(key=lambda x: x.span)
    return found


def entity_indexes(entities: list[Entity]) -> dict[str, tuple[list, dict, dict]]:
    """Per article: its entity mentions ``(start, end, entity id, type)`` in order, and the names
    and genders of the entities it mentions (all that :func:`article_quotes` looks up)."""
    out: dict[str, tuple[list, dict, dict]] = {}
    for e in entities:
        gender = None
        for role in e.roles:
            g = title_gender(role.split()[-1]) if role.split() else None
            if g in ("male", "female"):
                gender = g
        for m in e.mentions:
            mentions, names, genders = out.setdefault(m.article_id, ([], {}, {}))
            mentions.append((m.span[0], m.span[1], e.id, e.type))
            names[e.id] = e.name
            if gender:
                genders[e.id] = gender
    # In one order whatever the story's entity order: the index is part of the key the article's
    # quotes are kept under, and an entity added elsewhere in the story must not change it.
    return {a: (sorted(m), dict(sorted(n.items())), dict(sorted(g.items()))) for a, (m, n, g) in out.items()}


def _kind(text: str, q: QuoteSpan, att: _Attribution, ctx: _Ctx) -> str:
    """``direct`` for a quoted sentence, ``partial`` for a few quoted words inside the reporter's sentence."""
    inner = text[q.start:q.end].lstrip()
    s_start, _ = _sentence_bounds(ctx.doc, q.start)
    para_start = ctx.paragraphs[ctx.paragraph_of(q.start)][0]
    lead = _lead_end(text, max(s_start, para_start), max(q.start - 1, 0)) if q.start - 1 > s_start else ""
    starts_upper = bool(inner) and (inner[0].isupper() or inner[0] in "[\u2026." or inner[0].isdigit())
    if not lead or lead.endswith(":"):
        return "direct"
    if lead.endswith(",") and starts_upper and att.cue_token is not None and att.cue_token.idx < q.start:
        return "direct"
    if starts_upper and len(words(inner)) >= 8 and re.search(r"[.!?]\W*$", inner.strip()):
        return "direct"
    if _mostly_quoted(text, q, att, ctx):
        return "direct"
    return "partial"


def _lead_end(text: str, lo: int, hi: int) -> str:
    """The last character of ``text[lo:hi].strip().rstrip("'")`` ('' when that is empty), read from the
    end: the slice was the whole sentence so far, once per quote."""
    j = hi - 1
    while j >= lo and text[j].isspace():
        j -= 1
    while j >= lo and text[j] == "'":
        j -= 1
    k = j
    while k >= lo and text[k].isspace():
        k -= 1
    return text[j] if k >= lo else ""


def _at_most_words(text: str, start: int, end: int, most: float) -> bool:
    """``len(words(text[start:end])) <= most``, counting a window before ``end`` first (a suffix has no
    more words than the whole): the whole sentence before each quote was read once per quote."""
    window = max(start, end - 64 * int(most + 1))
    if window > start and len(words(text[window:end])) > most:
        return False
    return len(words(text[start:end])) <= most


MOSTLY_QUOTED = 0.5  # share of the reported clause inside the marks above which it is the speaker's words


def _mostly_quoted(text: str, q: QuoteSpan, att: _Attribution, ctx: _Ctx) -> bool:
    """'Trump says voter fraud "would be one hell of a way to lose."': the quoted words end the sentence
    (or, with the cue after them, start it after a short lead) and are most of what the cue reports, so
    the passage is a (mixed) direct quote."""
    cue = att.cue_token
    if cue is None or att.speaker is None:
        return False
    quoted = len(words(text[q.start:q.end]))
    if cue.idx >= q.end:
        # 'The country "has made dramatic changes," McConnell said': a short lead, then the quote and its cue.
        s_start, _ = _sentence_bounds(ctx.doc, q.start)
        start = max(s_start, ctx.paragraphs[ctx.paragraph_of(q.start)][0])
        if quoted < 2 or not _adjacent(ctx, q.end + 1, cue):
            return False
        return _at_most_words(text, start, q.end, quoted / MOSTLY_QUOTED)
    if cue.idx >= q.start:
        return False
    _, s_end = _sentence_bounds(ctx.doc, max(q.start, q.end - 1))
    if _TAIL_WORDS.search(text, q.end, max(q.end, s_end)) or quoted < 4:
        return False
    clause = words(text[cue.idx + len(cue.text):q.end])
    return bool(clause) and quoted >= MOSTLY_QUOTED * len(clause)


_TAIL_WORDS = re.compile("[^ \t\n\u00a0\"'\u201d\u2019.,!?;:]")  # what the sentence has after a quote


def _continues(ctx: _Ctx, prev: Quote, q: QuoteSpan) -> bool:
    """A quote with no cue of its own that follows an attributed quote in the same or next paragraph."""
    p_prev, p_cur = ctx.paragraph_of(prev.span[0]), ctx.paragraph_of(q.start)
    if p_cur == p_prev:
        between = ctx.article.text[prev.span[1]:q.start]
        return len(between) < 250 and _find_cue(ctx, prev.span[1], q.start, "first") is not None or len(between) < 6
    return p_cur == p_prev + 1 and q.start - ctx.paragraphs[p_cur][0] <= 1 and any(
        f.kind == "spans_paragraphs" for f in prev.flags)


def indirect_quotes(ctx: _Ctx, used: frozenset[int] = frozenset()) -> list[Quote]:
    """'X said (that) ...', 'the study found ...', 'she refused to ...', 'he called for ...' without quote
    marks, where the parse gives a clear subject and complement (the cue's frames in cue_verbs.json)."""
    out = []
    doc, text = ctx.doc, ctx.article.text
    for verb in doc:
        if verb.pos_ not in ("VERB", "AUX") or verb.i in used or verb.lemma_.lower() not in _frame_lemmas():
            continue
        if ctx.inside_quote(verb.idx) or any(c.dep_ == "neg" for c in _children(verb)) or _reported_within(ctx, verb):
            continue
        found = _complement(verb)
        if found is None:
            continue
        toks, minimum = found
        while toks and (toks[-1].is_punct or toks[-1].is_space):
            toks.pop()
        if len(toks) < minimum:
            continue
        start, end = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        if any(q.start < end and q.end > start for q in ctx.quotes if q.end - q.start > 0.5 * (end - start)):
            continue  # the clause is (mostly) a direct quote, already attributed
        sent = _sentence_index(doc, verb.idx)
        if _sentence_index(doc, start) != sent or _sentence_index(doc, end - 1) != sent:
            continue
        subj = _subject_of(verb)
        if subj is None or subj.lower_ in ("it", "this", "that", "there") or ctx.inside_quote(subj.idx):
            continue
        speaker = _speaker_from_token(ctx, subj)
        if speaker is None or not _credible_speaker(ctx, subj, speaker):
            continue
        content = text[start:end]
        if "\n" in content:
            continue
        qid = content_id("q", ctx.article.id, str(start), str(end))
        out.append(Quote(qid, ctx.article.id, (start, end), content, "indirect", verb.text, speaker, [], []))
    return out


@functools.lru_cache(maxsize=1)
def _frames() -> dict[str, frozenset[str]]:
    """Cue lemmas by the complement that carries what they report (see cue_verbs.json)."""
    frames = {k: frozenset(v) for k, v in load_data("cue_verbs.json")["complements"].items()}
    frames["ccomp"] = frames["ccomp"] | _cues()["indirect"]
    return frames


@functools.lru_cache(maxsize=1)
def _frame_lemmas() -> frozenset[str]:
    return frozenset().union(*_frames().values())


_FRAME_ORDER = (("ccomp", 4), ("xcomp", 3), ("prep", 2), ("dobj", 2))  # (complement, fewest tokens)


def _complement(verb):
    """The tokens a cue verb reports, by its frames: its clause, 'to' clause, prepositional or direct object
    (with a predicate: 'called him a liar'), and the fewest tokens that make a statement."""
    lemma, frames = verb.lemma_.lower(), _frames()
    for dep, minimum in _FRAME_ORDER:
        for c in _children(verb):
            if dep == "prep" and c.dep_ == "prep" and lemma in frames.get("prep_" + c.lower_, ()) and c.i > verb.i:
                return list(_subtree(c))[1:], minimum
            if c.dep_ == dep and dep != "prep" and lemma in frames[dep]:
                toks = list(_subtree(c))
                if dep == "dobj":
                    if c.i < verb.i:
                        return None  # 'what he called ...': the object is a relative word
                    for o in _children(verb):
                        if o.dep_ == "oprd" and o.i > c.i:
                            toks += [t for t in _subtree(o) if t.i > toks[-1].i]
                return toks, minimum
    return None


def _reported_within(ctx: _Ctx, verb) -> bool:
    """The verb is part of what an outer cue reports ('X said she expects ...'): the outer attribution
    holds it (one attribution per token, as PolNeAR annotates)."""
    tok, steps = verb, 0
    while tok.head is not tok and steps < 8:
        if tok.dep_ in ("ccomp", "xcomp") and tok.head.lemma_.lower() in _cues()["speech"] \
                and tok.head.pos_ in ("VERB", "AUX") and not ctx.inside_quote(tok.head.idx) \
                and _sentence_index(ctx.doc, tok.head.idx) == _sentence_index(ctx.doc, verb.idx):
            return True
        tok, steps = tok.head, steps + 1
    return False


# Dependents of a cue verb that belong to the attribution clause ("said Friday", "told reporters in Ohio").
_CLAUSE_DEPS = {"npadvmod", "prep", "advmod", "dative", "dobj", "agent", "aux", "auxpass", "punct", "tmod"}
_SEPARATORS = {",", "\u2014", "\u2013", "\u2015", "--"}
MIN_REPORTED_WORDS = 4


def reported_speech(ctx: _Ctx) -> tuple[list[Quote], frozenset[int]]:
    """Reported speech set off by commas: 'The museum, Mr. Bush said, celebrated ...', '..., officials
    said Friday.' and '..., according to the report.' Returns the quotes and the cue tokens they used."""
    out, used = [], set()
    for tok in ctx.doc:
        if ctx.inside_quote(tok.idx):
            continue
        found = _according_clause(ctx, tok) if tok.lower_ == "according" else _said_clause(ctx, tok)
        if found is None:
            continue
        (lo, hi), speaker, cue = found
        span = _around_clause(ctx, lo, hi)
        if span is None:
            continue
        content = ctx.article.text[span[0]:span[1]]
        qid = content_id("q", ctx.article.id, str(span[0]), str(span[1]))
        out.append(Quote(qid, ctx.article.id, span, content, "indirect", cue, speaker, [], []))
        used.add(tok.i)
    return out, frozenset(used)


def _said_clause(ctx: _Ctx, verb):
    """'Mr. Bush said' / 'said Peter Wehner, a former director' as a clause of its own: the token
    range of subject, cue and the cue's own modifiers, the speaker and the cue."""
    if verb.lemma_.lower() not in _cues()["indirect"] or verb.pos_ not in ("VERB", "AUX"):
        return None
    if any(c.dep_ in ("neg", "ccomp", "xcomp") and c.i > verb.i for c in _children(verb)):
        return None  # 'X said that ...' is left to indirect_quotes; 'did not say' is no attribution
    subj = next((c for c in _children(verb) if c.dep_ == "nsubj"), None)
    if subj is None or ctx.inside_quote(subj.idx) or subj.lower_ in _RELATIVE | {"it", "this", "there"}:
        return None
    allowed = {t.i for t in _subtree(subj)} | {verb.i}
    for c in _children(verb):
        if c.dep_ in _CLAUSE_DEPS and c.text not in _SEPARATORS:
            allowed |= {t.i for t in _subtree(c)}
    lo = min(allowed)
    hi = lo
    while hi + 1 in allowed:
        hi += 1
    if verb.i > hi or subj.i > hi:
        return None
    speaker = _speaker_from_token(ctx, subj)
    if speaker is None or not _credible_speaker(ctx, subj, speaker):
        return None
    return (lo, hi), _earlier_description(ctx, speaker), verb.text


def _according_clause(ctx: _Ctx, tok):
    """'according to the report' as a clause of its own (the source is any noun phrase: a poll, a filing)."""
    doc = ctx.doc
    if tok.i + 1 >= len(doc) or doc[tok.i + 1].lower_ != "to":
        return None
    obj = next((c for c in _children(doc[tok.i + 1]) if c.dep_ == "pobj"), None)
    if obj is None or obj.lower_ in _RELATIVE | {"it", "this"}:
        return None
    hi = max(t.i for t in _subtree(obj))
    speaker = _speaker_from_token(ctx, obj)
    if speaker is None:
        return None
    return (tok.i, hi), speaker, "according to"


def _around_clause(ctx: _Ctx, lo: int, hi: int) -> tuple[int, int] | None:
    """The reported words around an attribution clause (tokens ``lo``..``hi``) set off by commas or dashes
    in its sentence: what precedes it, and what follows when the clause interrupts a sentence
    ('The museum, he said, celebrated ...'). None when the words are too few or mostly quoted."""
    doc, text = ctx.doc, ctx.article.text
    s_start, s_end = _sentence_bounds(doc, doc[lo].idx)
    p_start, p_end = ctx.paragraphs[ctx.paragraph_of(doc[lo].idx)]
    s_start, s_end = max(s_start, p_start), min(s_end, p_end)
    after = doc[hi + 1] if hi + 1 < len(doc) else None
    ends = after is None or after.idx >= s_end or after.text in (".", "!", "?") or after.is_space
    if not ends and (after.text not in _SEPARATORS or after.idx >= s_end):
        return None
    if lo > 0 and doc[lo - 1].text in _SEPARATORS and doc[lo - 1].idx > s_start:
        start, end = s_start, doc[lo - 1].idx
        rest = s_end if ends else after.idx + len(after.text)  # the words after the clause: [rest, s_end)
        if _REST_WORDS.search(text, rest, max(rest, s_end)) and not _has_finite_verb(ctx, start, end):
            end = _rstrip_at(text, rest, s_end, " .!?\n")
    elif doc[lo].idx <= s_start + 1 and not ends:
        start, end = after.idx + len(after.text), s_end  # 'According to the report, ...'
    else:
        return None
    while start < end and text[start] in " \t\n\u00a0":
        start += 1
    end = max(start, _rstrip_at(text, start, end, " \t\n,.;:!?\u00a0\u2014\u2013\u2015-"))
    if end - start < 2 or end - start > MAX_QUOTE_CHARS or text.find("\n", start, end) >= 0 \
            or len(words(text[start:end])) < MIN_REPORTED_WORDS:
        return None  # longer than any quote: a sentence the parser failed to end (and each clause of a
        # run of them would copy all the sentence before it)
    return None if ctx.quoted_chars(start, end) > 0.5 * (end - start) else (start, end)


_REST_WORDS = re.compile('[^ .!?"\u201d]')


def _rstrip_at(text: str, start: int, end: int, chars: str) -> int:
    """The end of ``text[start:end].rstrip(chars)``, without copying the slice."""
    while end > start and text[end - 1] in chars:
        end -= 1
    return end


def _has_finite_verb(ctx: _Ctx, start: int, end: int) -> bool:
    """A finite verb among the tokens over chars [start, end) (by prefix counts over the Doc)."""
    i, j = _token_range(ctx.doc, start, end)
    counts = ctx.finite_counts()
    return j > i and counts[j] > counts[i]


def _person_subjects(ctx: _Ctx) -> list[tuple[int, Speaker]]:
    """People who are subjects of a verb, in text order (antecedents for "he said")."""
    out = []
    for tok in ctx.doc:
        if tok.dep_ not in _SUBJ or tok.pos_ == "PRON" or ctx.inside_quote(tok.idx):
            continue
        m = ctx.mention_at(tok.idx, tok.idx + len(tok.text))
        if m is None:
            for c in _children(tok):
                if c.dep_ == "appos":
                    m = ctx.mention_at(c.idx, c.idx + len(c.text)) or m
        if m is not None and m[3] == "PERSON":
            out.append((tok.idx, Speaker(ctx.names.get(m[2], ""), m[2], (m[0], m[1]))))
        elif m is None and tok.lemma_.lower() in person_nouns() and tok.head.lemma_.lower() in _cues()["speech"] \
                and tok.tag_ in ("NN", "NNP") and not any(c.dep_ == "conj" for c in _children(tok)):
            speaker = _speaker_from_token(ctx, tok)
            if speaker is not None:
                out.append((tok.idx, speaker))
    return out


def _infer_genders(ctx: _Ctx) -> dict[str, str]:
    """Gender of people from pronouns that follow them in a sentence naming only them."""
    votes: dict[str, list[str]] = defaultdict(list)
    by_sent: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for m in ctx.mentions:
        if m[3] == "PERSON":
            by_sent[_sentence_index(ctx.doc, m[0])].append((m[0], m[2]))
    sents = _sentences(ctx.doc)
    for n, found in by_sent.items():
        if len({eid for _, eid in found}) != 1:
            continue
        first, eid = min(found)
        s_start, s_end = sents[n]
        span = ctx.doc.char_span(s_start, s_end, alignment_mode="expand")
        for t in span if span is not None else ():
            if t.idx > first and t.lower_ in _pronouns() and not ctx.inside_quote(t.idx):
                kinds = _pronouns().get(t.lower_, [])
                if kinds and kinds[0] in ("person_male", "person_female"):
                    votes[eid].append(kinds[0][7:])
    out = {}
    for eid, vs in votes.items():
        top = max(set(vs), key=vs.count)
        if vs.count(top) > len(vs) / 2:
            out[eid] = top
    return out


def _credible_speaker(ctx: _Ctx, subj, speaker: Speaker) -> bool:
    """Someone who can speak: a person/organisation, a pronoun, or a description headed by a speaker noun."""
    if speaker.entity_id:
        return True
    if subj.pos_ == "PRON" or subj.lower_ in _pronouns():
        return subj.lower_ not in ("it",)
    nouns = load_data("speaker_nouns.json")
    lemma = subj.lemma_.lower()
    if lemma in person_nouns() or subj.pos_ == "PROPN" or any(lemma in nouns[k] for k in ("group", "document", "crowd")):
        return True
    # '61 percent say', 'two-thirds of Democratic insiders said': a share of people who can speak.
    return lemma in nouns["quantity"] or subj.like_num


# -- integrity across outlets ---------------------------------------------------
@dataclass
class _QInfo:
    quote: Quote
    words: list[str]
    fragments: list[list[str]]
    content: set[str]
    counts: Counter


def _info(q: Quote) -> _QInfo:
    ws = words(q.text)
    frags = [words(f) for f in _ELLIPSIS.split(q.text)]
    frags = [f for f in frags if f]
    return _QInfo(q, ws, frags, {w for w in ws if w not in _stopwords()}, Counter(ws))


def _contains_in_order(frags: list[list[str]], seq: list[str]) -> bool:
    pos = 0
    for f in frags:
        found = _find_sub(seq, f, pos)
        if found < 0:
            return False
        pos = found + len(f)
    return True


def _find_sub(seq: list[str], sub: list[str], start: int) -> int:
    n = len(sub)
    for i in range(start, len(seq) - n + 1):
        if seq[i:i + n] == sub:
            return i
    return -1


def word_diff(old: list[str], new: list[str]) -> str:
    """Word-level difference from ``old`` to ``new``: '[-removed-]' and '{+added+}'."""
    out = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            seg = old[a1:a2]
            out.append(" ".join(seg) if len(seg) <= 6 else " ".join(seg[:3] + ["..."] + seg[-3:]))
        else:
            if a2 > a1:
                out.append("[-" + " ".join(old[a1:a2]) + "-]")
            if b2 > b1:
                out.append("{+" + " ".join(new[b1:b2]) + "+}")
    return " ".join(out)


def _same_speaker(a: Quote, b: Quote) -> bool | None:
    """True/False when both speakers are known, None when one is not."""
    sa, sb = a.speaker, b.speaker
    if not sa or not sb:
        return None
    if sa.entity_id and sb.entity_id:
        return sa.entity_id == sb.entity_id
    if sa.entity_id or sb.entity_id:
        return None  # a name against a description: cannot tell
    ka, kb = set(words(sa.text)) - _stopwords(), set(words(sb.text)) - _stopwords()
    if not ka or not kb:
        return None
    return bool(ka & kb) or None


def compare(a: _QInfo, b: _QInfo) -> QuoteMatch | None:
    """How quote ``a`` relates to quote ``b`` of another article (None if unrelated)."""
    if not a.words or not b.words:
        return None
    same = _same_speaker(a.quote, b.quote)
    diff = None
    if a.words == b.words:
        relation = "identical"
    elif min(len(a.words), len(b.words)) >= 3 and (_contains_in_order(a.fragments, b.words)
                                                    or _contains_in_order(b.fragments, a.words)):
        relation = "truncated"
        diff = word_diff(b.words, a.words)
    else:
        if min(len(a.words), len(b.words)) < 4 or _ratio_bound(a, b) < 0.25:
            return None  # cannot reach the lowest ratio below: spare the full alignment
        ratio, shared = _similarity(a, b)
        if same and (ratio >= 0.4 or ratio >= 0.25 and shared >= 3) or ratio >= 0.6 and shared >= 2:
            relation = "altered"
            diff = word_diff(b.words, a.words)
        else:
            return None
    if same is False:
        relation, diff = "speaker_mismatch", f"{b.quote.speaker.text} vs {a.quote.speaker.text}" + (
            f"; {diff}" if diff else "")
    return QuoteMatch(b.quote.id, relation, diff)


def _ratio_bound(a: _QInfo, b: _QInfo) -> float:
    """An upper bound of SequenceMatcher's ratio: twice the shared words (as multisets) over
    both lengths. Most candidate pairs share a few words and nothing more."""
    shared = sum((a.counts & b.counts).values())
    return 2 * shared / (len(a.words) + len(b.words))


def _similarity(a: _QInfo, b: _QInfo) -> tuple[float, int]:
    ratio = difflib.SequenceMatcher(a=a.words, b=b.words, autojunk=False).ratio()
    return ratio, len(a.content & b.content)


@dataclass
class _Narration(Record):
    article_id: str
    span: tuple[int, int]
    text: str
    words: list[str]
    content: set[str]


def narration_sentences(article, doc, quotes: list[Quote]) -> list[_Narration]:
    """The reporter's own sentences (quoted parts and attributed clauses removed)."""
    out = []
    covered = [(q.span[0], q.span[1]) for q in quotes if q.kind != "indirect"]
    for s, e in _sentences(doc):
        if any(a <= s and e <= b for a, b in covered):
            continue
        pieces, pos = [], s
        for a, b in sorted(covered):
            if b <= s or a >= e:
                continue
            pieces.append(article.text[pos:max(pos, a - 1)])
            pos = min(e, b + 1)
        pieces.append(article.text[pos:e])
        text = " ".join(p.strip() for p in pieces if p.strip())
        ws = words(text)
        if len(ws) >= 4:
            out.append(_Narration(article.id, (s, e), text, ws, {w for w in ws if w not in _stopwords()}))
    return out


def _narration_match(a: _QInfo, n: _Narration) -> float | None:
    if len(a.words) < 5:
        return None
    shared = len(a.content & n.content)
    if shared < 2:
        return None
    common = sum((a.counts & Counter(n.words)).values())  # bounds both scores below
    if common / len(a.words) < 0.7 and 2 * common / (len(a.words) + len(n.words)) < 0.5:
        return None
    sm = difflib.SequenceMatcher(a=a.words, b=n.words, autojunk=False)
    matched = sum(block.size for block in sm.get_matching_blocks())
    containment = matched / len(a.words)
    ratio = sm.ratio()
    if ratio >= 0.5 or containment >= 0.7:
        return max(ratio, containment)
    return None


def link_quotes(quotes: list[Quote], groups: list[list[str]], narration: dict[str, list[_Narration]],
                pairs: list[tuple[str, str]] = ()) -> None:
    """Add QuoteMatch relations between quotes of articles that cover one story (in place)."""
    infos = [_info(q) for q in quotes if q.kind in ("direct", "partial")]
    related: dict[str, set[str]] = defaultdict(set)
    for g in groups:
        for a in g:
            related[a] |= set(g) - {a}
    for a, b in pairs:
        related[a].add(b)
        related[b].add(a)
    quote_index = _index((i, info.content) for i, info in enumerate(infos))
    flat_narr = [n for aid in narration for n in narration[aid]]
    narr_index = _index((i, n.content) for i, n in enumerate(flat_narr))
    for info in infos:
        others = related.get(info.quote.article_id, set())
        if not others:
            continue
        best_by_article: dict[str, tuple[float, QuoteMatch]] = {}
        for j in _candidates(quote_index, info.content, minimum=1 if len(info.content) <= 2 else 2):
            other = infos[j]
            if other.quote.article_id not in others:
                continue
            match = compare(info, other)
            if match:
                score = _similarity(info, other)[0] + (1 if match.relation == "identical" else 0)
                prev = best_by_article.get(other.quote.article_id)
                if prev is None or score > prev[0]:
                    best_by_article[other.quote.article_id] = (score, match)
        for aid in sorted(best_by_article):
            info.quote.matches.append(best_by_article[aid][1])
        best = max((v[0] for v in best_by_article.values()), default=0.0)
        if len(info.words) < 5:
            continue
        # Narration that reproduces a quote shares most of its content words.
        cands = [flat_narr[j] for j in _candidates(narr_index, info.content, minimum=max(2, len(info.content) // 3))]
        _check_narration(info, [n for n in cands if n.article_id in others], best)


def _index(items) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, content in items:
        for w in content:
            index[w].append(i)
    return index


def _candidates(index: dict[str, list[int]], content: set[str], minimum: int) -> list[int]:
    counts: dict[int, int] = defaultdict(int)
    for w in content:
        for i in index.get(w, ()):
            counts[i] += 1
    return sorted(i for i, n in counts.items() if n >= minimum)


def _check_narration(info: _QInfo, cands: list[_Narration], best_quote_score: float) -> None:
    """Flag quoted words that another article prints as its own narration."""
    if best_quote_score >= 1 or info.quote.kind not in ("direct", "partial"):
        return
    best = None
    for n in cands:
        score = _narration_match(info, n)
        if score is not None and score > best_quote_score and (best is None or score > best[0]):
            best = (score, n)
    if best:
        n = best[1]
        diff = word_diff(n.words, info.words)
        info.quote.matches.append(QuoteMatch(n.article_id, "misattributed_narration",
                                             f"narration {n.article_id} [{n.span[0]}, {n.span[1]}]: {diff}",
                                             article_id=n.article_id, span=tuple(n.span)))
        info.quote.flags.append(Flag("misattributed_narration",
                                     f"article {n.article_id} prints these words as narration at "
                                     f"[{n.span[0]}, {n.span[1]}]: {n.text!r}"))


# -- stage ---------------------------------------------------------------------
QUOTES = work.Fact("quotes", "1", Quote)
NARRATION = work.Fact("narration", "1", _Narration)


def extract(analysis) -> list[Quote]:
    """Quotes of every article, linked across the articles of each story."""
    docs = nlpmod.docs_for(analysis)
    indexes = entity_indexes(analysis.get("entities"))
    quotes: list[Quote] = []
    narration: dict[str, list[_Narration]] = {}
    for article in analysis.articles:
        index = indexes.get(article.id, ([], {}, {}))
        try:
            # Kept between runs under what they depend on: the article and its entity index (the
            # narration depends on the quotes, which these two determine).
            parts = (*work.article_parts(article), work.text_digest(repr(index)))
            qs = work.kept(QUOTES, parts, lambda: article_quotes(article, docs[article.id], [], index))
            narration[article.id] = work.kept(NARRATION, parts,
                                              lambda: narration_sentences(article, docs[article.id], qs))
        except Exception as exc:  # a bad article must not stop the batch
            analysis.fail(exc, article.id)
            qs = []
        if nlpmod.was_capped(article):
            for q in qs:
                q.flags.append(Flag("article_capped", f"only the first {nlpmod.MAX_CHARS} chars were analysed"))
        quotes += qs
    pairs = [(r.source_id, r.derived_id) for r in analysis.want("reuse")]
    link_quotes(quotes, analysis.groups(), narration, pairs)
    return quotes


@stage("quotes", needs=("stories", "docs", "entities"), wants=("reuse",), adds={"quotes": Quote},
       version="2")
def quotes_stage(analysis) -> dict[str, list[Quote]]:
    """Stage: direct, partial and indirect quotes with speakers and cross-outlet integrity."""
    return {"quotes": extract(analysis)}
