"""Entities: people, organisations and places, with their name variants merged.

spaCy's small NER model finds most names but mislabels many (a country as a
person, an all-caps acronym not at all). Rules fix what it gets wrong, then
mentions are merged inside each article (full name -> surname, acronym ->
expansion, "the junta" -> the formal name the text gives) and across articles
(spellings of transliterated names, exact names, known aliases).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import work
from ..models import nlp as nlpmod
from ..pipeline import stage
from ..records import Entity, Mention, Record, content_id
from ..text import alternation, load_data

TYPES = ("PERSON", "ORG", "GPE", "LOC")
_NER_LABELS = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "GPE", "LOC": "LOC", "FAC": "LOC", "NORP": "NORP"}
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
_ORG_LEGAL = {"group", "inc", "corp", "corporation", "company", "co", "ltd", "plc", "llc", "sa", "ag"}
_FUNCTION_WORDS = {"of", "for", "and", "the", "to", "on", "in", "de", "du", "des", "la", "le", "&"}
_QUOTE_CHARS = "\"'\u201c\u201d\u2018\u2019"
# "X, the junta's formal name" / "X, formally known as the junta"
_ALIAS_AFTER = re.compile(r",\s+the\s+([a-z][a-z ]{1,40}?)(?:'s|\u2019s)\s+(?:formal|official|full)\s+name")
_ALIAS_OF = re.compile(r",\s+the\s+(?:formal|official|full)\s+name\s+(?:of|for)\s+the\s+([a-z][a-z ]{1,40}?)\b")


# -- vocabularies ---------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _places() -> dict:
    data = load_data("places.json")
    kinds = {}
    for name in data["countries"]:
        kinds[name_key(name)] = "GPE"
    for name in data["regions"]:
        kinds[name_key(name)] = "LOC"
    aliases = {name_key(k): name_key(v) for k, v in data["aliases"].items()}
    for alias, target in aliases.items():
        kinds.setdefault(alias, kinds.get(target, "GPE"))
    return {"kinds": kinds, "aliases": aliases, "demonyms": {name_key(d) for d in data["demonyms"]},
            "suffixes": frozenset(data.get("generic_suffixes", [])),
            "streets": frozenset(data.get("street_suffixes", [])),
            "prepositions": frozenset(data.get("place_prepositions", []))}


@functools.lru_cache(maxsize=1)
def _gazetteer_cities() -> frozenset[str]:
    """City names (keys) from the CLDR time-zone cities that Babel ships (installed with trafilatura).

    A type vote only, never a mention of its own: a name the NER found that is
    also a city ("Chicago", "Toulouse") leans to GPE. Antarctic stations are
    named after people (Casey, Davis) and are left out. Empty without Babel.
    """
    try:
        from babel.core import get_global
        from babel.dates import get_timezone_location
    except ImportError:
        return frozenset()
    out = set()
    for zone in get_global("zone_territories"):
        if zone.startswith(("Antarctica/", "Etc/")) or "/" not in zone:
            continue
        try:
            city = get_timezone_location(zone, locale="en", return_city=True)
        except Exception:  # a zone Babel cannot name: no city from it
            continue
        if city and not city.isupper():
            out.add(name_key(city))
    not_places = {name_key(n) for n in load_data("places.json").get("gazetteer_not_places", [])}
    return frozenset(out - set(_places()["kinds"]) - not_places)


@functools.lru_cache(maxsize=1)
def _titles() -> dict[str, str]:
    data = load_data("titles.json")
    return {t: gender for gender in ("male", "female", "neutral") for t in data[gender]}


@functools.lru_cache(maxsize=1)
def _not_names() -> frozenset[str]:
    return frozenset(load_data("org_words.json")["not_names"])


@functools.lru_cache(maxsize=1)
def _org_heads() -> frozenset[str]:
    return frozenset(load_data("org_words.json")["heads"])


@functools.lru_cache(maxsize=1)
def _speaker_nouns() -> dict[str, frozenset[str]]:
    data = load_data("speaker_nouns.json")
    return {k: frozenset(v) for k, v in data.items() if not k.startswith("_")}


def person_nouns() -> frozenset[str]:
    """Nouns that describe a person ("spokesperson", "official")."""
    return _speaker_nouns()["person"]


def title_gender(word: str) -> str | None:
    """``male``/``female``/``neutral`` if ``word`` is a title, else None."""
    return _titles().get(word.lower().rstrip("."))


# -- names ----------------------------------------------------------------
def name_key(text: str) -> str:
    """Normalise a name for comparison: accents, case, periods, leading 'the', possessive."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("\u2019", "'").replace("\u2018", "'").casefold()
    text = re.sub(r"'s$|'$", "", text.strip())
    text = text.replace(".", "").replace("-", " ")
    text = re.sub(r"[^\w&' ]+", " ", text)
    text = re.sub(r"^the\s+", "", " ".join(text.split()))
    return text


def _person_parts(key: str) -> list[str]:
    parts = [p for p in key.split() if p not in _NAME_SUFFIXES]
    return parts or key.split()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (names are short, so the plain DP is enough)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@functools.lru_cache(maxsize=65536)
def similar_name_word(a: str, b: str) -> bool:
    """True for two spellings of one transliterated name word (Abdourahamane/Abdourahmane).

    Short words must match exactly, and first and last letters must agree,
    so Nasr/Nasra, Niger/Nigeria and Michael/Michelle stay apart.
    """
    if a == b:
        return True
    a, b = _fold(a), _fold(b)
    if a == b:
        return min(len(a), len(b)) >= 4
    if min(len(a), len(b)) < 5 or a[0] != b[0] or a[-1] != b[-1]:
        return False
    return levenshtein(a, b) <= (1 if max(len(a), len(b)) < 8 else 2)


_FOLDS = (("ph", "f"), ("kh", "k"), ("q", "k"), ("ck", "k"), ("ou", "u"), ("y", "i"), ("dh", "d"), ("th", "t"))


@functools.lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """Fold common transliteration choices (Qassemi/Kassemi, Youssef/Yusef)."""
    for a, b in _FOLDS:
        word = word.replace(a, b)
    return re.sub(r"(.)\1", r"\1", word)


def same_person_name(a: str, b: str) -> bool:
    """Two multi-word person names (keys) that can name one person.

    Surnames must be the same or spelling variants; first names likewise, or an
    initial of the other. Middle names are ignored. Different first names sharing
    a surname (Bill/Hillary Clinton) never match.
    """
    pa, pb = _person_parts(a), _person_parts(b)
    if len(pa) < 2 or len(pb) < 2:
        return False
    if not similar_name_word(pa[-1], pb[-1]):
        return False
    fa, fb = pa[0], pb[0]
    if len(fa) == 1 or len(fb) == 1:
        return fa[0] == fb[0]
    return similar_name_word(fa, fb)


def acronym_of(expansion: str) -> set[str]:
    """Acronyms an expansion can have ("Economic Community of West African States" -> ECOWAS, ECWAS)."""
    words = [w for w in re.split(r"[\s-]+", expansion) if w]
    if len(words) < 2:
        return set()
    out = {""}
    for w in words:
        initial = w[0].lower()
        if w.lower() in _FUNCTION_WORDS:
            out |= {o + initial for o in out} if w.lower() != "the" else set()
        else:
            out = {o + initial for o in out}
    return {o for o in out if len(o) >= 2}


def _is_acronym(text: str) -> bool:
    bare = text.replace(".", "")
    return 2 <= len(bare) <= 8 and bare.isalpha() and bare.isupper()


# -- mentions inside one article -----------------------------------------
@dataclass
class _Cand(Record):
    """A name found in one article, before merging."""

    article_id: str
    start: int
    end: int
    text: str
    key: str
    votes: Counter = field(default_factory=Counter)
    roles: list[str] = field(default_factory=list)
    gender: str | None = None
    local: int = -1  # index of its within-article group

    @property
    def label(self) -> str:
        return _vote(self.votes)


def _vote(votes: Counter) -> str:
    best = [(n, t) for t, n in votes.items() if t in TYPES]
    return max(best, key=lambda x: (x[0], -TYPES.index(x[1])))[1] if best else "ORG"


def find_mentions(article, doc) -> list[_Cand]:
    """Name mentions of one article with type votes and roles (no merging yet)."""
    text = article.text
    cands: list[_Cand] = []
    parsed = doc.text  # once: Doc.text is rebuilt from every token on each access
    taken = [False] * (len(parsed) + 1)
    for ent in doc.ents:
        label = _NER_LABELS.get(ent.label_)
        if not label:
            continue
        for span in _clean_ent(ent):
            cand = _make_cand(article.id, text, span, label)
            if cand:
                cands.append(cand)
                for i in range(cand.start, cand.end):
                    taken[i] = True
    cands += _rule_mentions(article, doc, taken)
    cands = [c for c in cands if not _is_noise(c, doc, text)]
    for cand in cands:
        _add_context(cand, doc, parsed)
    cands.sort(key=lambda c: c.start)
    return cands


def _clean_ent(ent) -> list:
    """Split an entity at line breaks, slashes and place lists; drop titles and 'the'."""
    doc = ent.doc
    pieces, cur = [], []
    for tok in ent:
        if "\n" in tok.text or tok.text in {"/", "|"} or "\n" in tok.whitespace_:
            if tok.text.strip() and tok.text not in {"/", "|"} and "\n" not in tok.text:
                cur.append(tok)
            if cur:
                pieces.append(cur)
            cur = []
            continue
        cur.append(tok)
    if cur:
        pieces.append(cur)
    out = []
    for toks in pieces:
        for part in _split_places(toks):
            while part and (part[0].lower_ in {"the", "a", "an"} or part[0].text in _QUOTE_CHARS
                            or (ent.label_ == "PERSON" and title_gender(part[0].text))):
                if len(part) == 1:
                    break
                part = part[1:]
            while part and (part[-1].text in {"'s", "\u2019s", "'", "\u2019", ",", ".", "-"}
                            or part[-1].text in _QUOTE_CHARS):
                part = part[:-1]
            part = _extend_left(part, ent)
            if part:
                out.append(doc[part[0].i:part[-1].i + 1])
    for span in out:
        span.label_ = ent.label_
    return out


def _extend_left(part: list, ent) -> list:
    """Add untagged capitalised name words just before a person name ("Antony" + "J. Blinken")."""
    if ent.label_ != "PERSON" or not part:
        return part
    doc = ent.doc
    i = part[0].i - 1
    while i >= 0 and doc[i].ent_iob_ == "O" and doc[i].tag_ == "NNP" and doc[i].is_title \
            and not title_gender(doc[i].text) and not doc[i].is_sent_start and "\n" not in doc[i].whitespace_:
        part = [doc[i]] + part
        i -= 1
    return part


def _split_places(toks: list) -> list[list]:
    """Split "Niger and Burkina Faso" into its places when every part is a known place."""
    if not any(t.lower_ in {"and", ","} for t in toks):
        return [toks]
    parts, cur = [], []
    for t in toks:
        if t.lower_ in {"and", ","}:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    kinds = _places()["kinds"]
    keys = [name_key(" ".join(t.text for t in p)) for p in parts if p]
    if len(keys) == len(parts) and all(k in kinds for k in keys):
        return parts
    return [toks]


def _make_cand(article_id: str, text: str, span, label: str) -> _Cand | None:
    start, end = span.start_char, span.end_char
    surface = text[start:end]
    key = name_key(surface)
    if not key or not re.search(r"[A-Z\u00c0-\u024f]", surface) or surface in _not_names():
        return None
    cand = _Cand(article_id, start, end, surface, key)
    places = _places()
    if key in places["demonyms"] or label == "NORP":
        return None if key not in places["kinds"] else _relabel(cand, places["kinds"][key])
    cand.votes[label] += 1
    kind = places["kinds"].get(key)
    if kind:
        cand.votes[kind] += 5
    last = key.split()[-1]
    if len(key.split()) > 1 and last in places["suffixes"]:
        cand.votes["GPE"] += 3  # "Aubren District", "Korvath Province"
    elif len(key.split()) > 1 and last in places["streets"]:
        cand.votes["LOC"] += 3  # "Cooper's Lane"
    elif key in _gazetteer_cities():
        cand.votes["GPE"] += 2
    if label != "PERSON" and last in _org_heads() and len(key.split()) > 1 or (label == "LOC" and last in _org_heads()):
        cand.votes["ORG"] += 3
    if _is_acronym(surface) and not kind:
        cand.votes["ORG"] += 1
    return cand


def _relabel(cand: _Cand, label: str) -> _Cand:
    cand.votes[label] += 5
    return cand


def _rule_mentions(article, doc, taken: list[bool]) -> list[_Cand]:
    """Names the NER missed: title + name, acronyms, known places, speakers of cue verbs."""
    out = []
    text = article.text
    kinds = _places()["kinds"]
    for tok in doc:
        if taken[tok.idx]:
            continue
        # Title + capitalised words: "General Mody".
        if title_gender(tok.text) and tok.is_title and tok.i + 1 < len(doc):
            j = tok.i + 1
            while j < len(doc) and doc[j].is_title and doc[j].tag_ == "NNP" and not taken[doc[j].idx] \
                    and not title_gender(doc[j].text):
                j += 1
            if j > tok.i + 1:
                span = doc[tok.i + 1:j]
                cand = _Cand(article.id, span.start_char, span.end_char, span.text, name_key(span.text))
                cand.votes["PERSON"] += 3
                cand.gender = _gender_word(tok.text)
                out.append(cand)
                for i in range(span.start_char, span.end_char):
                    taken[i] = True
                continue
        # Acronyms and all-caps place names (datelines: "NIAMEY, Niger").
        if tok.text.isupper() and _is_acronym(tok.text) and tok.text not in _not_names():
            key = name_key(tok.text)
            if re.search(r"\b%s\b" % re.escape(tok.text.lower()), text):
                continue  # a shouted common word, not a name
            cand = _Cand(article.id, tok.idx, tok.idx + len(tok.text), tok.text, key)
            cand.votes[kinds.get(key, "ORG")] += 2
            out.append(cand)
            continue
    # Speakers the NER missed: proper-noun subjects of speech verbs ("said Mucahid Durmaz").
    for tok in doc:
        if tok.dep_ in ("nsubj", "nsubjpass") and tok.tag_ == "NNP" and not taken[tok.idx] and tok.is_title:
            left = [t for t in tok.lefts if t.dep_ == "compound" and t.tag_ == "NNP" and t.is_title
                    and not title_gender(t.text) and not taken[t.idx]]
            first = min([tok] + left, key=lambda t: t.i)
            if any(d.is_punct or d.is_space for d in doc[first.i:tok.i + 1]):
                first = tok
            person_appos = any(c.dep_ == "appos" and c.lemma_.lower() in person_nouns() for c in tok.children)
            if tok.head.lemma_ not in _speech_lemmas() and first is tok and not person_appos:
                continue  # a lone capitalised subject of another verb may be anything
            span = doc[first.i:tok.i + 1]
            cand = _Cand(article.id, span.start_char, span.end_char, span.text, name_key(span.text))
            cand.votes["PERSON"] += (1.5 if len(span) > 1 else 0.5) + (2 if person_appos else 0)
            out.append(cand)
            for i in range(span.start_char, span.end_char):
                taken[i] = True
    # Known places the model missed (exact, capitalised).
    for name_, kind in _place_pattern_hits(text):
        s, e = name_
        if any(taken[s:e]):
            continue
        cand = _Cand(article.id, s, e, text[s:e], name_key(text[s:e]))
        cand.votes[kind] += 5
        out.append(cand)
        for i in range(s, e):
            taken[i] = True
    return out


@functools.lru_cache(maxsize=1)
def _place_regex() -> re.Pattern:
    places = load_data("places.json")
    return re.compile(r"(?<![\w-])(%s)(?![\w-])" % alternation(places["countries"] + places["regions"]))


def _place_pattern_hits(text: str) -> Iterable[tuple[tuple[int, int], str]]:
    kinds = _places()["kinds"]
    for m in _place_regex().finditer(text):
        yield (m.start(), m.end()), kinds.get(name_key(m.group()), "GPE")


def _is_noise(cand: _Cand, doc, text: str) -> bool:
    """A capitalised common word at a sentence start ("Coups in the region...") is no name."""
    line_start = text.rfind("\n", 0, cand.start) + 1
    line_end = text.find("\n", cand.end)
    line = text[line_start:line_end if line_end >= 0 else len(text)].strip()
    if line == cand.text and cand.key not in _places()["kinds"]:
        return True  # page furniture ("Advertisement", "Share") or a caption line
    if " " in cand.text.strip() or _is_acronym(cand.text):
        return False
    if sum(cand.votes.values()) > 2:
        return False
    at_start = cand.start == 0 or text[:cand.start].rstrip()[-1:] in {".", "\n", "", "\u201c", '"', ":"}
    if not at_start:
        return False
    low = cand.text.lower()
    toks = doc.char_span(cand.start, cand.end, alignment_mode="expand")
    lemma = toks[0].lemma_.lower() if toks is not None and len(toks) else low
    pattern = r"\b(%s|%s)\b" % (re.escape(low), re.escape(lemma))
    return re.search(pattern, text) is not None


def _gender_word(word: str) -> str | None:
    g = title_gender(word)
    return g if g in ("male", "female") else None


# -- context: roles, titles, type evidence -----------------------------------
def _add_context(cand: _Cand, doc, text: str) -> None:
    span = doc.char_span(cand.start, cand.end, alignment_mode="expand")
    if span is None or not len(span):
        return
    head = span.root
    # Title right before the name: "President Bazoum", "Gen. Mody".
    prev = doc[span.start - 1] if span.start > 0 else None
    if prev is not None and title_gender(prev.text) and prev.is_title:
        cand.votes["PERSON"] += 3
        cand.gender = cand.gender or _gender_word(prev.text)
        cand.roles.append(prev.text)
    for role, noun in _premodifier_roles(span, head):
        cand.roles.append(role)
        if noun.lemma_.lower() not in _place_nouns():
            _vote_from_noun(cand, noun)
    for role, noun in _apposition_roles(span, head, cand.label):
        cand.roles.append(role)
        _vote_from_noun(cand, noun)
    # "a woman who gave only her first name, Lidia" / "the capital, Sorvik": the noun types the name.
    if head.dep_ == "appos" and head.head.i < span.start and head.head.pos_ == "NOUN":
        if head.head.lemma_.lower() == "name":
            cand.votes["PERSON"] += 2  # "who gave only her first name, Lidia"
        _vote_from_noun(cand, head.head)
    # A subject of a speech verb is rarely a place.
    if head.dep_ in ("nsubj", "nsubjpass") and head.head.lemma_ in _speech_lemmas():
        cand.votes["PERSON"] += 0.5
        cand.votes["ORG"] += 0.25
    if prev is not None and prev.lower_ in _places()["prepositions"] and len(span) <= 2 and not cand.votes.get("ORG"):
        cand.votes["GPE"] += 1.5
    _place_context(cand, span, head, prev, text)


def _place_context(cand: _Cand, span, head, prev, text: str) -> None:
    """Evidence that a name is a town or village: a dateline, "the village of X",
    "Mayor Gideon Holt of X", "X and two neighbouring hamlets" (``text``: the parsed text,
    passed in because ``Doc.text`` is rebuilt from every token on each access)."""
    line_start = text.rfind("\n", 0, cand.start) + 1
    if _DATELINE.match(text, cand.start) and not text[line_start:cand.start].strip():
        cand.votes["GPE"] += 5
    before = span.doc[span.start - 2] if span.start > 1 else None
    if prev is not None and prev.text == "," and before.pos_ == "NOUN" and before.lemma_.lower() in _place_nouns() \
            and any(c.lower_ == "the" for c in before.lefts):
        cand.votes["GPE"] += 2  # "in the capital, Sorvik" (parsed as an apposition or not)
    if prev is not None and prev.lower_ == "of":
        owner = prev.head
        if owner.lemma_.lower() in _place_nouns():
            cand.votes["GPE"] += 3
        elif owner.ent_type_ == "PERSON" and len(span) == 1 and cand.key not in _org_heads() | _ORG_LEGAL:
            cand.votes["GPE"] += 1.5  # "Mayor Gideon Holt of Kvarn" (not "Bill Ford of Ford Motor Co")
    for other in [head.head] * (head.dep_ == "conj") + [c for c in head.children if c.dep_ == "conj"]:
        if other.pos_ == "NOUN" and other.lemma_.lower() in _place_nouns():
            cand.votes["GPE"] += 2


# "KVARN, Ostrevia \u2014" / "LORRIN (MPA) \u2014": a line that opens with a place in capitals.
_DATELINE = re.compile(r"[A-Z][A-Z' .-]+(?:,[^\n\u2014]{0,40})?(?:\s*\([A-Za-z]{2,12}\))?\s*[\u2014\u2013_-]")


def _vote_from_noun(cand: _Cand, noun) -> None:
    word = noun.lemma_.lower()
    if word in _place_nouns():
        cand.votes["GPE"] += 2
    elif word in person_nouns() and word not in _speaker_nouns()["group"]:
        cand.votes["PERSON"] += 2
    elif word in _speaker_nouns()["group"] or word in _org_heads():
        cand.votes["ORG"] += 2


@functools.lru_cache(maxsize=1)
def _place_nouns() -> frozenset[str]:
    return frozenset(load_data("places.json")["place_nouns"])


@functools.lru_cache(maxsize=1)
def _role_verbs() -> frozenset[str]:
    return frozenset(load_data("speaker_nouns.json")["role_verbs"])


@functools.lru_cache(maxsize=1)
def _speech_lemmas() -> frozenset[str]:
    return frozenset(load_data("cue_verbs.json")["speech"])


def _premodifier_roles(span, head) -> list[tuple[str, object]]:
    """Words before the name that describe it: "journalist Wassim Nasr", "Wagner leader Yevgeny Prigozhin"."""
    doc = span.doc
    left = [c for c in head.lefts if c.i < span.start and c.dep_ in ("compound", "amod", "nmod")]
    if not left:
        return []
    start = min(t.i for c in left for t in c.subtree)
    # Start after any dash or colon (captions: "FILE - U.S. Secretary of State ...").
    for t in doc[start:span.start]:
        if t.is_punct and t.text not in ("'", "\u2019", "."):
            start = t.i + 1
    kept = [t for t in doc[start:span.start] if t.dep_ not in ("det", "poss", "case", "punct", "cc")
            and not (t.dep_ == "amod" and t.tag_ in ("VBN", "VBD", "VBG"))]
    # Drop words whose head was dropped ("democratically" of a dropped "elected").
    ids = {t.i for t in kept}
    kept = [t for t in kept if t.head.i in ids or t.head.i == head.i or t.head.i >= span.start]
    if not kept or "\n" in doc[start:span.start].text:
        return []
    last = kept[-1]
    if len(kept) == 1 and title_gender(last.text):
        return []  # a bare title is added by the caller
    if last.pos_ != "NOUN" and not title_gender(last.text):
        return []
    return [(_clean_role(doc[kept[0].i:last.i + 1].text), last)]


def _apposition_roles(span, head, label: str) -> list[tuple[str, object]]:
    """Roles in appositions and 'who is' clauses around the name."""
    out = []
    for child in head.children:
        if child.i < span.end:
            continue
        if child.dep_ == "appos":
            out += _appos_parts(child)
        elif child.dep_ == "relcl" and child.lemma_ == "be":
            for attr in child.children:
                if attr.dep_ in ("attr", "acomp"):
                    out += _appos_parts(attr)
        elif child.dep_ == "relcl" and child.lemma_ in _role_verbs() and _right_after(child, span):
            role = _role_text(child, exclude={c.i for c in child.children if c.dep_ in ("nsubj", "punct", "cc", "conj")})
            if role:
                out.append((role, child))
    # The name as apposition of a role: "the junta leader, General Abdourahamane Tchiani".
    noun = head.head
    fitting = {"PERSON": person_nouns(), "ORG": _speaker_nouns()["group"]}.get(label, _place_nouns())
    if head.dep_ == "appos" and noun.i < span.start and noun.pos_ == "NOUN" and noun.lemma_.lower() in fitting:
        role = _role_text(noun, exclude={head.i})
        if role:
            out.append((role, noun))
    return out


def _right_after(clause, span) -> bool:
    """A clause that opens right after the name (", who runs the dam"), not one that
    follows an apposition naming someone else ("X, chief engineer of the LVBA, which runs the dam")."""
    first = min(t.i for t in clause.subtree)
    between = re.sub(r"\([^()]*\)", "", span.doc[span.end:first].text)  # "X (TBA), which"
    return not between.strip(" ,")


def _appos_parts(node) -> list[tuple[str, object]]:
    """'a journalist and senior research fellow at X' -> both roles."""
    if node.pos_ not in ("NOUN", "PROPN") or (node.pos_ == "PROPN" and node.ent_type_ in ("PERSON", "GPE")):
        return []
    out = []
    role = _role_text(node, exclude={c.i for c in node.children if c.dep_ in ("conj", "cc")})
    if role:
        out.append((role, node))
    for c in node.children:
        if c.dep_ == "conj" and c.pos_ in ("NOUN", "PROPN"):
            out += _appos_parts(c)
    return out


def _role_text(node, exclude: set[int]) -> str:
    skip: set[int] = set()
    for c in node.subtree:
        if c.i in exclude:
            skip |= {t.i for t in c.subtree}
        # Clauses and nested appositions inside the role ("..., a global risk company") are cut.
        elif c.i != node.i and c.dep_ in ("appos", "relcl", "acl", "advcl", "parataxis"):
            if c.head.i != node.i or c.dep_ in ("relcl", "acl"):
                skip |= {t.i for t in c.subtree}
    toks = [t for t in node.subtree if t.i not in skip]
    if not toks:
        return ""
    # Keep one contiguous run around the head.
    run = [t for t in toks if t.i <= node.i]
    run = run[::-1]
    left = []
    for t in run:
        if left and t.i != left[-1].i - 1:
            break
        left.append(t)
    right = []
    for t in toks:
        if t.i <= node.i:
            continue
        if (right and t.i != right[-1].i + 1) or (not right and t.i != node.i + 1):
            break
        right.append(t)
    span_toks = left[::-1] + right
    words = node.doc[span_toks[0].i:span_toks[-1].i + 1].text
    if "\n" in words or len(span_toks) > 25:
        return ""
    return _clean_role(words)


def _clean_role(role: str) -> str:
    role = role.strip(" ,;:-\u2014\u2013")
    role = re.sub(r"^(a|an|the|who is|who was)\s+", "", role, flags=re.IGNORECASE)
    return role.strip(" ,;:")


# -- merging ----------------------------------------------------------------
@dataclass
class _Local:
    """Mentions of one name inside one article."""

    article_id: str
    cands: list[_Cand]
    key: str = ""
    type: str = ""
    aliases: set[str] = field(default_factory=set)  # descriptor words ("junta") the text equates with it

    @property
    def keys(self) -> set[str]:
        return {c.key for c in self.cands}


def merge_article(article, cands: list[_Cand], key_votes: dict[str, Counter] | None = None) -> list[_Local]:
    """Group one article's mentions: same name, surname after full name, acronym after expansion.

    ``key_votes`` are type votes per name over all articles, so one article's
    evidence ("in Niamey") types the name in the others.
    """
    groups: dict[str, list[_Cand]] = defaultdict(list)
    for c in cands:
        groups[c.key].append(c)
    locals_: dict[str, _Local] = {}
    for key, cs in groups.items():
        votes = key_votes[key] if key_votes and key in key_votes else sum((c.votes for c in cs), Counter())
        locals_[key] = _Local(article.id, cs, key, _vote(votes))
    _promote_surnames(locals_, key_votes)
    _find_missed_surnames(article, locals_)
    # Surname (or title + surname) -> nearest preceding full name with that surname.
    persons = [lc for lc in locals_.values() if lc.type == "PERSON" and len(_person_parts(lc.key)) >= 2]
    for key, lc in list(locals_.items()):
        parts = key.split()
        if len(parts) != 1 or key not in locals_ or lc.type != "PERSON":
            continue
        owners = [p for p in persons if _person_parts(p.key)[-1] == parts[0]]
        if not owners:
            continue
        for c in lc.cands:
            before = [p for p in owners if p.cands[0].start < c.start]
            target = max(before, key=lambda p: max(x.start for x in p.cands if x.start < c.start)) if before \
                else min(owners, key=lambda p: p.cands[0].start)
            target.cands.append(c)
        del locals_[key]
    _attach_first_names(locals_)
    _merge_acronyms(article.text, locals_)
    for lc in locals_.values():
        lc.aliases |= _declared_aliases(article.text, lc)
        lc.cands.sort(key=lambda c: c.start)
    return list(locals_.values())


def _find_missed_surnames(article, locals_: dict[str, _Local]) -> None:
    """Surnames of people named in full that the NER did not tag ("Tremblay said ...")."""
    taken = [(c.start, c.end) for lc in locals_.values() for c in lc.cands]
    for lc in list(locals_.values()):
        if lc.type != "PERSON" or len(_person_parts(lc.key)) < 2:
            continue
        words_ = [w for w in lc.cands[0].text.split() if name_key(w) not in _NAME_SUFFIXES]
        surname = words_[-1] if words_ else ""
        if len(surname) < 3 or not surname[0].isupper() or not surname.isalpha():
            continue
        for m in re.finditer(r"(?<![\w-])%s(?![\w-])" % re.escape(surname), article.text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            cand = _Cand(article.id, m.start(), m.end(), m.group(), name_key(m.group()))
            cand.votes["PERSON"] += 1
            key = cand.key
            locals_.setdefault(key, _Local(article.id, [], key, "PERSON")).cands.append(cand)
            taken.append((m.start(), m.end()))


def _attach_first_names(locals_: dict[str, _Local]) -> None:
    """A lone first name joins the one full name in the article that starts with it ("Renee")."""
    persons = [lc for lc in locals_.values() if lc.type == "PERSON" and len(_person_parts(lc.key)) >= 2]
    surnames = {_person_parts(p.key)[-1] for p in persons}
    for key, lc in list(locals_.items()):
        if len(key.split()) != 1 or key in surnames or lc.type != "PERSON":
            continue
        owners = [p for p in persons if _person_parts(p.key)[0] == key]
        if len(owners) == 1:
            owners[0].cands += lc.cands
            del locals_[key]


def _promote_surnames(locals_: dict[str, _Local], key_votes: dict[str, Counter] | None) -> None:
    """A one-word name that is the surname of a person named in full is a person too ("Nuland").

    Not when the name is mostly something else across articles ("Ford" the company).
    """
    surnames = {_person_parts(k)[-1] for k, lc in locals_.items() if lc.type == "PERSON" and len(k.split()) >= 2}
    for key, lc in locals_.items():
        if len(key.split()) == 1 and key in surnames and lc.type != "PERSON":
            votes = (key_votes or {}).get(key, Counter())
            other = max((n for t, n in votes.items() if t != "PERSON"), default=0)
            if _places()["kinds"].get(key) is None and not (other >= 2 and other > votes["PERSON"]):
                lc.type = "PERSON"
                for c in lc.cands:
                    c.votes["PERSON"] += 3


def _merge_acronyms(text: str, locals_: dict[str, _Local]) -> None:
    """Merge "Economic Community of West African States (ECOWAS)" and later "ECOWAS"."""
    for key, lc in list(locals_.items()):
        if key not in locals_ or len(key.split()) < 2:
            continue
        for c in lc.cands:
            m = re.match(r"\s*\(([A-Z][A-Za-z.&]{1,9})\)", text[c.end:c.end + 14])
            if not m:
                continue
            acr_key = name_key(m.group(1))
            if acr_key not in locals_:
                s = c.end + m.start(1)
                acr = _Cand(lc.article_id, s, s + len(m.group(1)), m.group(1), acr_key)
                locals_[acr_key] = _Local(lc.article_id, [acr], acr_key, lc.type)
            if acr_key != key:
                lc.cands += locals_.pop(acr_key).cands
                lc.aliases.add("acronym:" + acr_key)
            break


def _declared_aliases(text: str, lc: _Local) -> set[str]:
    """Descriptors the text equates with the name: "X, the junta's formal name"."""
    out = set()
    for c in lc.cands:
        tail = text[c.end:c.end + 80]
        m = _ALIAS_AFTER.match(tail) or _ALIAS_OF.match(tail)
        if m:
            out.add(m.group(1).split()[-1])
    return out


def _descriptor_mentions(article, doc, word: str) -> list[_Cand]:
    """Definite mentions of a descriptor ("the junta", "the military junta")."""
    out = []
    for tok in doc:
        if tok.lower_ != word or tok.pos_ not in ("NOUN", "PROPN"):
            continue
        dets = [c for c in tok.lefts if c.dep_ == "det"]
        if not dets or dets[0].lower_ != "the":
            continue
        # "the junta's formal name" talks about the name, it is not a mention of the group.
        nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
        start = dets[0].idx
        if nxt is not None and nxt.text in ("'s", "\u2019s") and tok.i + 3 < len(doc) \
                and doc[tok.i + 3].lower_ == "name":
            continue
        cand = _Cand(article.id, start, tok.idx + len(tok.text), article.text[start:tok.idx + len(tok.text)],
                     name_key(word))
        out.append(cand)
    return out


def merge_across(locals_: list[_Local]) -> list[list[_Local]]:
    """Union article-level groups that name the same entity."""
    parent = list(range(len(locals_)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, lc in enumerate(locals_):
        for k in _join_keys(lc):
            by_key[(_family(lc.type), _canonical_key(k, lc.type))].append(i)
    for ids in by_key.values():
        for j in ids[1:]:
            union(ids[0], j)
    _union_acronyms(locals_, union)
    _union_person_variants(locals_, union, find)
    groups: dict[int, list[_Local]] = defaultdict(list)
    for i, lc in enumerate(locals_):
        groups[find(i)].append(lc)
    return list(groups.values())


def _join_keys(lc: _Local) -> set[str]:
    """Keys that may join articles: a person's full names only (a bare "Dorne" is ambiguous)."""
    if lc.type != "PERSON":
        return lc.keys
    full = {k for k in lc.keys if len(_person_parts(k)) >= 2}
    return full or lc.keys


def _family(type_: str) -> str:
    return "PERSON" if type_ == "PERSON" else "NONPERSON"


def _canonical_key(key: str, type_: str) -> str:
    places = _places()
    key = places["aliases"].get(key, key)
    if type_ in ("GPE", "LOC"):
        words_ = key.split()
        if len(words_) > 1 and words_[-1] in places["suffixes"]:
            key = " ".join(words_[:-1])
    if type_ == "ORG":
        words_ = key.split()
        if len(words_) > 1 and words_[-1] in _ORG_LEGAL:
            key = " ".join(words_[:-1])
    return key


def _union_acronyms(locals_: list[_Local], union) -> None:
    """Join an acronym in one article with its expansion in another."""
    explicit: dict[str, set[int]] = defaultdict(set)
    expansions: dict[str, list[int]] = defaultdict(list)
    for i, lc in enumerate(locals_):
        for a in lc.aliases:
            if a.startswith("acronym:"):
                explicit[a[8:]].add(i)
        if lc.type != "PERSON":
            for k in lc.keys:
                if len(k.split()) >= 2:
                    for acr in acronym_of(k):
                        if acr not in k.split():
                            expansions[acr].append(i)
    for i, lc in enumerate(locals_):
        if lc.type == "PERSON":
            continue
        for k in lc.keys:
            if " " in k:
                continue
            if k in explicit:
                for j in explicit[k]:
                    union(i, j)
            elif len({_canonical_key(x, "ORG") for j in expansions.get(k, []) for x in locals_[j].keys
                      if " " in x}) == 1:
                for j in expansions[k]:
                    union(i, j)


def _union_person_variants(locals_: list[_Local], union, find) -> None:
    """Join spelling variants of full names, and lone surnames with the one full name they fit.

    Names are compared only within blocks of the same folded surname initial, so
    the cost stays near-linear in the number of people.
    """
    full = [(i, k) for i, lc in enumerate(locals_) if lc.type == "PERSON"
            for k in lc.keys if len(_person_parts(k)) >= 2]
    blocks: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, k in full:
        blocks[_fold(_person_parts(k)[-1])[:1]].append((i, k))
    for block in blocks.values():
        distinct = sorted(set(block))
        for a in range(len(distinct)):
            for b in range(a + 1, len(distinct)):
                (i, ki), (j, kj) = distinct[a], distinct[b]
                if find(i) != find(j) and (ki == kj or same_person_name(ki, kj)):
                    union(i, j)
    for i, lc in enumerate(locals_):
        if lc.type != "PERSON" or any(len(_person_parts(k)) >= 2 for k in lc.keys):
            continue
        surname = next(iter(lc.keys))
        owners = {find(j) for j, k in blocks.get(_fold(surname)[:1], ())
                  if similar_name_word(_person_parts(k)[-1], surname)}
        if len(owners) == 1:
            union(i, owners.pop())


# -- building records ------------------------------------------------------
def build_entities(groups: list[list[_Local]], agencies: set[str] = frozenset()) -> list[Entity]:
    """Turn merged groups into Entity records with a canonical name and content id.

    ``agencies`` (name keys of the articles' outlets and wires) are never a role:
    "LORRIN (MPA)" names the agency that filed the story, not what Lorrin is.
    """
    out, seen = [], set()
    for group in groups:
        cands = sorted((c for lc in group for c in lc.cands), key=lambda c: (c.article_id, c.start))
        votes = sum((c.votes for c in cands), Counter())
        # Groups never mix people and non-people (merge_across keeps the families apart).
        type_ = "PERSON" if group[0].type == "PERSON" else _vote(votes - Counter({"PERSON": votes["PERSON"]}))
        name = _canonical_name(cands, type_)
        eid = content_id("e", type_, name_key(name))
        if eid in seen:
            eid = content_id("e", type_, name_key(name), cands[0].article_id, str(cands[0].start))
        seen.add(eid)
        variants = _unique([c.text for c in cands if c.text != name])
        roles = _clean_roles([r for c in cands for r in c.roles], {name_key(c.text) for c in cands}, agencies)
        if type_ in ("GPE", "LOC"):
            roles = [r for r in roles if _role_head(r) in _place_nouns()]  # "the capital", not "higher figure"
        mentions = [Mention(c.article_id, (c.start, c.end), c.text) for c in cands]
        out.append(Entity(eid, name, type_, variants, roles, mentions))
    out.sort(key=lambda e: (-len(e.mentions), e.name))
    return out


def _canonical_name(cands: list[_Cand], type_: str) -> str:
    counts = Counter(c.text for c in cands)
    keys_seen: dict[str, str] = {}
    for c in cands:
        keys_seen.setdefault(name_key(c.text), c.text)

    def rank(text: str) -> tuple:
        full = text[:1].isupper() and not text.islower()
        descriptor = text.lower().startswith("the ") or text.islower()
        many = len(text.split()) >= 2
        acr = _is_acronym(text)
        if type_ == "PERSON":
            return (not descriptor, many, counts[text], len(text))
        return (not descriptor, full, not acr, many, counts[text], len(text))

    return max(counts, key=rank)


def _clean_roles(roles: list[str], names: set[str], agencies: set[str] = frozenset()) -> list[str]:
    """Drop roles that are the name itself, an agency, alias statements, fragments that do not
    parse, or shorter forms of another role."""
    agency_acronyms = {a for x in agencies for a in acronym_of(x)}
    roles = [_trim_role(r) for r in roles]
    roles = [r for r in _unique(roles) if name_key(r) not in names and len(r) > 1
             and name_key(r) not in agencies and name_key(r) not in agency_acronyms
             and not re.search(r"\b(formal|official|full) name\b", r) and _role_parses(r)]
    low = [r.casefold() for r in roles]
    return [r for r, lr in zip(roles, low) if not any(o != lr and o.startswith(lr) for o in low)]


_DANGLING = {"the", "a", "an", "of", "than", "to", "at", "in", "on", "and", "or", "for", "with", "by", "from", "one"}


def _trim_role(role: str) -> str:
    """Cut a role at its first comma or an unclosed bracket ("chief engineer of the LVBA (")."""
    role = role.split(",")[0]
    if role.count("(") > role.count(")"):
        role = role[:role.rfind("(")]
    return role.strip(" ;:-\u2014\u2013")


def _role_parses(role: str) -> bool:
    """Not a possessive or dangling fragment ("hall's", "higher figure than the one")."""
    words = role.split()
    return bool(words) and not re.search(r"['\u2019]s?$", role) and words[-1].lower() not in _DANGLING


def _role_head(role: str) -> str:
    """The head noun of a role (its last word, singular, lowercase): "the capital" -> capital."""
    words = re.sub(r"\b(of|in|at|on|for)\b.*$", "", role.lower()).split()
    word = words[-1] if words else ""
    return word[:-1] if word.endswith("s") and word[:-1] in _place_nouns() else word


def _unique(items: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for it in items:
        k = it.casefold().strip()
        if k and k not in seen:
            seen.add(k)
            out.append(it.strip())
    return out


# -- stage ---------------------------------------------------------------------
MENTIONS = work.Fact("mentions", "2", _Cand)
DESCRIPTORS = work.Fact("descriptors", "1", _Cand)
KNOWN_NAMES = work.Fact("known_names", "2", _Cand)  # 2: a space in a name matches any whitespace


def extract(analysis) -> list[Entity]:
    """Entities of every article in ``analysis`` (parsing each English article once).

    Non-English articles never meet the English model: they contribute only the
    names the English articles found, where the same name is written in them
    ("le gouverneur Anselm Brody").
    """
    english = [a for a in analysis.articles if a.is_english]
    docs = nlpmod.docs_for(analysis, english if len(english) < len(analysis.articles) else None)
    locals_: list[_Local] = []
    per_article: dict[str, list[_Local]] = {}
    found: dict[str, list[_Cand]] = {}
    key_votes: dict[str, Counter] = defaultdict(Counter)
    for article in english:
        try:
            found[article.id] = work.kept(MENTIONS, work.article_parts(article),
                                          lambda: find_mentions(article, docs[article.id]))
        except Exception as exc:  # a bad article must not stop the batch
            found[article.id] = []
            analysis.fail(exc, article.id)
        for c in found[article.id]:
            key_votes[c.key].update(c.votes)
    names = _known_surfaces(found.values())
    for article in analysis.articles:
        if not article.is_english:
            found[article.id] = work.kept(KNOWN_NAMES, (*work.article_parts(article), work.text_digest("\n".join(names))),
                                          lambda: known_name_mentions(article, names))
        per_article[article.id] = merge_article(article, found[article.id], key_votes)
    _link_descriptors(analysis, docs, per_article)
    for ls in per_article.values():
        locals_ += ls
    agencies = {name_key(x) for a in analysis.articles for x in (a.wire, a.outlet) if x}
    return build_entities(merge_across(locals_), agencies)


def _known_surfaces(found: Iterable[list[_Cand]]) -> list[str]:
    """Names as the English articles write them (capitalised, three letters or more), longest first."""
    out = {c.text for cands in found for c in cands if len(c.key) >= 3 and c.text[:1].isupper()
           and not c.text.isupper()}
    return sorted(out, key=lambda t: (-len(t), t))


def known_name_mentions(article, names: list[str]) -> list[_Cand]:
    """Exact occurrences of known names in a non-English article (no model: a plain match).

    The type comes from the English articles' votes (``merge_article`` reads them by key).
    """
    if not names:
        return []
    out, taken = [], []
    for m in re.finditer(rf"(?<![\w-])({alternation(names)})(?![\w-])", article.text):
        if not any(s < m.end() and m.start() < e for s, e in taken):
            out.append(_Cand(article.id, m.start(), m.end(), m.group(), name_key(m.group())))
            taken.append((m.start(), m.end()))
    return out


def _link_descriptors(analysis, docs, per_article: dict[str, list[_Local]]) -> None:
    """Attach "the junta" mentions to the name the text equates it with, in that article's story.

    Without stories, the story of a declaring article is taken to be the articles
    that name one of its two main places (those it names most), so a Niger
    article's "the junta" does not reach an article about another country.
    """
    stories = analysis.groups()
    one_story = analysis.story is not None or len(stories) > 1
    for members in stories:
        declared: dict[str, list[_Local]] = defaultdict(list)
        for aid in members:
            for lc in per_article.get(aid, []):
                for word in lc.aliases:
                    if not word.startswith("acronym:"):
                        declared[word].append(lc)
        for word, owners in declared.items():
            if len({o.key for o in owners}) != 1:
                continue  # two names claim the same descriptor: leave it alone
            scope = members if one_story else _same_place(per_article, {o.article_id for o in owners}, members)
            for aid in (a for a in scope if analysis.article(a).is_english):
                _attach_descriptor(analysis.article(aid), docs, word, owners[0], per_article[aid])
    for aid, locals_ in per_article.items():
        per_article[aid] = [lc for lc in locals_ if lc.cands]


def _same_place(per_article: dict[str, list[_Local]], declaring: set[str], members: list[str]) -> list[str]:
    places = Counter()
    for aid in declaring:
        for lc in per_article.get(aid, []):
            if lc.type in ("GPE", "LOC"):
                places[lc.key] += len(lc.cands)
    if not places:
        return sorted(declaring)
    main = {k for k, _ in places.most_common(2)}
    return [aid for aid in members if aid in declaring or any(lc.key in main for lc in per_article.get(aid, []))]


def _attach_descriptor(article, docs, word: str, owner: _Local, locals_: list[_Local]) -> None:
    cands = work.kept(DESCRIPTORS, (*work.article_parts(article), word),
                      lambda: _descriptor_mentions(article, docs[article.id], word))
    if not cands:
        return
    local = next((lc for lc in locals_ if lc.key == owner.key), None)
    if local is None:
        local = _Local(article.id, [], owner.key, owner.type)
        locals_.append(local)
    taken = {(c.start, c.end) for lc in locals_ for c in lc.cands}
    for c in cands:
        if (c.start, c.end) not in taken:
            c.key = owner.key
            c.votes[owner.type] += 1
            local.cands.append(c)
    local.cands.sort(key=lambda c: c.start)


@stage("entities", needs=("stories", "docs"), adds={"entities": Entity}, version="2")
def entities_stage(analysis) -> dict[str, list[Entity]]:
    """Stage: people, organisations and places with merged variants and roles."""
    return {"entities": extract(analysis)}
