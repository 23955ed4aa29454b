"""Check examples/ground_truth.json against the files in examples/corpus/.

Loads every article with plain Python (json, feedparser, warcio, html.parser,
and trafilatura as a second opinion for HTML) and asserts that:

* every ground-truth article exists, with the stated title, date and outlet;
* every ``text`` (quotes, quote integrity, conflicts, timeline, time
  expressions, boilerplate) is an exact substring of the right article body;
* every quote mark pair in every article body is listed in ``quotes`` (and no
  more), so the quote list is complete;
* weekday expressions resolve to the stated value against the article's true
  date (and, for the misdated article, against its stated date);
* the wire copies really are verbatim / near-verbatim, the rewrite really is a
  low-overlap paraphrase, and stripping the listed boilerplate lines from the
  scraped .txt gives back exactly the wire body;
* source groups partition the articles and the independent-source counts match;
* every entity variant occurs somewhere in its story's files.

Usage:  python examples/check_ground_truth.py      (exit status 0 = all good)
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import feedparser
from warcio.archiveiterator import ArchiveIterator

try:
    import trafilatura
except ImportError:  # trafilatura is only a second opinion
    trafilatura = None

HERE = Path(__file__).resolve().parent
GT = json.loads((HERE / "ground_truth.json").read_text(encoding="utf-8"))

FAILURES: list[str] = []


def check(cond: bool, msg: str) -> None:
    if not cond:
        FAILURES.append(msg)


# ---------------------------------------------------------------- loaders
class ArticleHTML(HTMLParser):
    """Collect <h1> and <p> text inside <article>, plus the head metadata."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.canonical = None
        self.paras: list[str] = []
        self.h1 = None
        self._in_article = 0
        self._cur: list[str] | None = None
        self._tag = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta":
            key = a.get("property") or a.get("name")
            if key and "content" in a:
                self.meta[key] = a["content"]
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")
        elif tag == "article":
            self._in_article += 1
        elif tag in ("p", "h1") and (self._in_article or tag == "p"):
            self._cur, self._tag = [], tag

    def handle_endtag(self, tag):
        if tag == "article":
            self._in_article -= 1
        elif tag in ("p", "h1") and self._cur is not None and tag == self._tag:
            text = "".join(self._cur).strip()
            if tag == "h1":
                self.h1 = text
            elif self._in_article:
                self.paras.append(text)
            self._cur = None

    def handle_data(self, data):
        if self._cur is not None:
            self._cur.append(data)


def paras_from_html_fragment(fragment: str) -> list[str]:
    p = ArticleHTML()
    p.feed("<article>" + fragment + "</article>")
    return p.paras


def from_html(raw: str, fmt: str) -> dict:
    p = ArticleHTML()
    p.feed(raw)
    art = {
        "title": p.meta.get("og:title"),
        "h1": p.h1,
        "paras": p.paras,
        "published": p.meta.get("article:published_time", "")[:10],
        "outlet": p.meta.get("og:site_name"),
        "url": p.canonical,
        "author": p.meta.get("author"),
        "raw": html.unescape(raw),
        "format": fmt,
    }
    check(all(p.meta.get(k) for k in ("og:title", "og:site_name", "author", "article:published_time")),
          f"HTML page {art['title']!r} lacks required <meta> tags")
    check(p.canonical is not None and ".example/" in p.canonical, f"HTML page {art['title']!r} lacks canonical .example URL")
    for needle in ("<nav", "<aside", "<footer", "cookie", "<article"):
        check(needle in raw, f"HTML page {art['title']!r} lacks {needle}")
    check(p.h1 == art["title"], f"HTML <h1> {p.h1!r} differs from og:title {art['title']!r}")
    if trafilatura is not None:
        art["trafilatura"] = trafilatura.extract(raw) or ""
    return art


def load_txt(path: Path, encoding: str) -> list[dict]:
    data = path.read_bytes()
    text = data.decode(encoding)
    lines = text.split("\n")
    published = ""
    outlet = None
    if lines[0].startswith("date "):
        published = lines[0][5:].strip()
        lines = lines[1:]
    if lines[0].startswith("source: "):
        outlet = lines[0][8:].strip()
        lines = lines[1:]
    title = lines[0].strip()
    body = "\n".join(lines[1:]).strip("\n")
    paras = [b.strip() for b in re.split(r"\n\s*\n", body) if b.strip()]
    return [{"title": title, "paras": paras, "published": published, "outlet": outlet,
             "raw": text, "format": "txt", "bytes": data}]


def load_json(path: Path) -> list[dict]:
    out = []
    for obj in json.loads(path.read_text(encoding="utf-8")):
        for k in ("title", "body", "url", "publishedAt", "source", "author"):
            check(k in obj, f"{path.name}: object lacks field {k}")
        out.append({"title": obj["title"], "paras": obj["body"].split("\n\n"), "published": obj["publishedAt"][:10],
                    "outlet": obj["source"], "url": obj["url"], "raw": json.dumps(obj, ensure_ascii=False), "format": "json"})
    return out


def load_jsonl(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        for k in ("title", "content", "url", "published", "outlet"):
            check(k in obj, f"{path.name}: line lacks field {k}")
        out.append({"title": obj["title"], "paras": obj["content"].split("\n\n"), "published": obj["published"][:10],
                    "outlet": obj["outlet"], "url": obj["url"], "raw": line, "format": "jsonl"})
    return out


def load_feed(path: Path, fmt: str) -> list[dict]:
    feed = feedparser.parse(str(path))
    check(not feed.bozo, f"{path.name}: feed is not well formed ({feed.get('bozo_exception')})")
    out = []
    for e in feed.entries:
        content = e.content[0].value
        pub = dt.datetime(*e.published_parsed[:6]).date().isoformat()
        out.append({"title": e.title, "paras": paras_from_html_fragment(content), "published": pub,
                    "outlet": feed.feed.title, "url": e.link, "author": e.get("author"),
                    "raw": html.unescape(path.read_text(encoding="utf-8")), "format": fmt})
    return out


def load_warc(path: Path) -> list[dict]:
    out = []
    kinds = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            kinds.append(rec.rec_type)
            if rec.rec_type != "response":
                continue
            ctype = rec.http_headers.get_header("Content-Type") or ""
            check(rec.rec_headers.get_header("WARC-Target-URI") is not None, "WARC response without WARC-Target-URI")
            if not ctype.startswith("text/html"):
                continue
            raw = rec.content_stream().read().decode("utf-8")
            art = from_html(raw, "warc")
            art["warc_uri"] = rec.rec_headers.get_header("WARC-Target-URI")
            out.append(art)
    check(kinds.count("request") >= 1, "WARC has no request record")
    check(kinds.count("response") >= 3, "WARC should have 2 HTML + 1 non-HTML response")
    return out


_cache: dict[str, list[dict]] = {}


def load_file(rel: str, encoding: str) -> list[dict]:
    if rel in _cache:
        return _cache[rel]
    path = HERE / rel
    name = path.name
    if name.endswith(".warc.gz"):
        arts = load_warc(path)
    elif name.endswith(".html"):
        arts = [from_html(path.read_text(encoding="utf-8"), "html")]
    elif name.endswith(".txt"):
        arts = load_txt(path, encoding)
    elif name.endswith(".jsonl"):
        arts = load_jsonl(path)
    elif name.endswith(".json"):
        arts = load_json(path)
    elif name.endswith((".rss", ".xml")):
        arts = load_feed(path, "rss")
    elif name.endswith(".atom"):
        arts = load_feed(path, "atom")
    else:
        raise SystemExit(f"unknown format: {rel}")
    _cache[rel] = arts
    return arts


# ---------------------------------------------------------------- helpers
def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower().replace("’", "'"))


def ngrams(toks: list[str], n: int = 5) -> set:
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def jaccard(a: str, b: str, n: int = 5) -> float:
    x, y = ngrams(words(a), n), ngrams(words(b), n)
    return len(x & y) / len(x | y) if x | y else 0.0


QUOTE_RE = [re.compile(r'"([^"]+)"'), re.compile(r"“([^”]+)”"), re.compile(r"«\s*([^»]+?)\s*»")]


def quoted_spans(text: str) -> list[str]:
    spans = []
    for rx in QUOTE_RE:
        spans += [m.group(1) for m in rx.finditer(text)]
    return [s[:-1] if s.endswith(",") else s for s in spans]


WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
            "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
PARTS = {"morning": "TMO", "afternoon": "TAF", "evening": "TEV", "night": "TNI"}


def last_weekday(anchor: dt.date, wd: int) -> dt.date:
    return anchor - dt.timedelta(days=(anchor.weekday() - wd) % 7)


def expected_weekday_value(expr: str, anchor: dt.date):
    m = re.fullmatch(r"(?:(?:on|On|since|early on|nightfall on)\s+)?(\w+)(?:\s+(morning|afternoon|evening|night))?", expr)
    if not m or m.group(1).lower() not in WEEKDAYS:
        return None
    day = last_weekday(anchor, WEEKDAYS[m.group(1).lower()]).isoformat()
    if m.group(2):
        return day + PARTS[m.group(2)]
    if expr.startswith("nightfall"):
        return day + "TEV"
    return day


# ---------------------------------------------------------------- main checks
def main() -> int:
    arts = {}
    keys = [a["key"] for a in GT["articles"]]
    check(len(keys) == len(set(keys)), "article keys (titles) are not unique")
    check(len(keys) >= 16, f"only {len(keys)} articles")
    check(len({a["outlet"] for a in GT["articles"]}) >= 6, "fewer than 6 outlets")

    for a in GT["articles"]:
        loaded = load_file(a["file"], a["encoding"])
        idx = a["entry"] if a["entry"] is not None else 0
        check(a["entry"] is not None or len(loaded) == 1, f"{a['file']} holds several articles but entry is null")
        if idx >= len(loaded):
            check(False, f"{a['key']!r}: entry {idx} missing in {a['file']}")
            continue
        art = loaded[idx]
        arts[a["key"]] = art
        check(art["title"] == a["key"], f"{a['file']}[{idx}] title {art['title']!r} != key {a['key']!r}")
        check(art["published"] == a["published"], f"{a['key']!r}: published {art['published']!r} != {a['published']!r}")
        if art.get("outlet"):
            check(art["outlet"] == a["outlet"], f"{a['key']!r}: outlet {art['outlet']!r} != {a['outlet']!r}")
        check(a["misdated"] == (a["published"] != a["true_date"]), f"{a['key']!r}: misdated flag inconsistent")
        if a["encoding"] != "utf-8":
            try:
                art["bytes"].decode("utf-8")
                check(False, f"{a['file']} decodes as UTF-8 but is declared {a['encoding']}")
            except UnicodeDecodeError:
                pass

    # clean bodies (boilerplate lines stripped for the scraped .txt)
    bp = {b["article"]: b for b in GT["boilerplate"]}
    body = {}
    for a in GT["articles"]:
        art = arts.get(a["key"])
        if art is None:
            continue
        paras = art["paras"]
        if a["key"] in bp and art["format"] == "txt":
            junk = set(bp[a["key"]]["must_remove"])
            kept = []
            for para in paras:
                lines = [ln for ln in para.split("\n") if ln.strip() and ln.strip() not in junk]
                if lines:
                    kept.append("\n".join(lines))
            paras = kept
        body[a["key"]] = "\n\n".join(paras)
        n = len(words(art["title"] + " " + body[a["key"]]))
        check(150 <= n <= 500, f"{a['key']!r}: {n} words (want 150-500)")

    def in_body(key: str, text: str, where: str) -> None:
        if key not in body:
            check(False, f"{where}: unknown article {key!r}")
            return
        check(text in body[key], f"{where}: not found in {key!r}: {text!r}")
        tr = arts[key].get("trafilatura")
        if tr is not None:
            check(text in tr, f"{where}: trafilatura output of {key!r} lacks {text!r}")

    # stories and groups
    st = GT["stories"]
    all_story_keys = st["A"]["keys"] + st["B"]["keys"]
    check(sorted(all_story_keys) == sorted(keys), "stories do not partition the articles")
    for a in GT["articles"]:
        check(a["key"] in st[a["story"]]["keys"], f"{a['key']!r} not in its story list")
    seen = []
    for g in GT["source_groups"]:
        check(g["origin"] in g["keys"], f"group origin {g['origin']!r} not in its keys")
        for k in g["keys"]:
            check(k in st[g["story"]]["keys"], f"group member {k!r} not in story {g['story']}")
        seen += g["keys"]
    check(sorted(seen) == sorted(keys), "source_groups do not cover every article exactly once")
    for s in ("A", "B"):
        n = sum(1 for g in GT["source_groups"] if g["story"] == s)
        check(GT["independent_sources"][s] == n, f"independent_sources[{s}] != number of groups ({n})")

    # reuse
    for r in GT["reuse"]:
        src, der = r["source"], r["derived"]
        if src not in body or der not in body:
            check(False, f"reuse edge with unknown article: {r}")
            continue
        sp, dp = arts[src]["paras"], body[der].split("\n\n")
        group = next((g for g in GT["source_groups"] if der in g["keys"]), None)
        check(group is not None and group["origin"] == src, f"reuse {der!r}: its group origin is not {src!r}")
        if r["kind"] == "verbatim":
            check(dp == sp, f"verbatim copy {der!r} differs from {src!r}")
        elif r["kind"] == "near_verbatim":
            ch = r["changes"]
            expect = [p for p in sp if p not in ch["dropped_paragraphs"]]
            for w in ch["word_changes"]:
                expect = [re.sub(rf"\b{w['from']}\b", w["to"], p) for p in expect]
            check(dp == expect, f"near-verbatim copy {der!r} is not source minus listed changes")
            check(arts[der]["title"] != arts[src]["title"], f"near-verbatim copy {der!r} should have a changed headline")
        elif r["kind"] == "paraphrase":
            j = jaccard(body[src], body[der])
            check(j < 0.05, f"paraphrase {der!r} has 5-gram Jaccard {j:.3f} >= 0.05")
            print(f"paraphrase 5-gram Jaccard {j:.3f}: {der!r}")
    reuse_pairs = {(r["source"], r["derived"]) for r in GT["reuse"]}
    for i, k1 in enumerate(keys):
        for k2 in keys[i + 1:]:
            if (k1, k2) in reuse_pairs or (k2, k1) in reuse_pairs:
                continue
            same_group = any(k1 in g["keys"] and k2 in g["keys"] for g in GT["source_groups"])
            if same_group or k1 not in body or k2 not in body:
                continue
            j = jaccard(body[k1], body[k2])
            check(j < 0.05, f"independent pair has 5-gram Jaccard {j:.3f}: {k1!r} / {k2!r}")

    # quotes: every listed quote is in its article, and the list is complete
    gt_quotes: dict[str, list[str]] = {}
    for q in GT["quotes"]:
        in_body(q["article"], q["text"], "quote")
        check(q["kind"] in ("direct", "partial"), f"quote kind {q['kind']!r}")
        check(q["via"] in ("name", "surname", "pronoun", "description"), f"quote via {q['via']!r}")
        gt_quotes.setdefault(q["article"], []).append(q["text"])
    for a in GT["articles"]:
        if a["key"] not in body:
            continue
        found = sorted(quoted_spans(body[a["key"]]))
        listed = sorted(gt_quotes.get(a["key"], []))
        check(found == listed, f"quote list mismatch for {a['key']!r}:\n  in text:  {found}\n  in truth: {listed}")

    speakers = {(q["article"], q["text"]): q["speaker"] for q in GT["quotes"]}
    for qi in GT["quote_integrity"]:
        in_body(qi["article"], qi["text"], "quote_integrity")
        in_body(qi["source_article"], qi["source_text"], "quote_integrity source")
        check((qi["article"], qi["text"]) in speakers, f"quote_integrity text not in quotes: {qi['text']!r}")
        if qi["relation"] == "speaker_mismatch":
            check(qi["text"] == qi["source_text"], "speaker_mismatch quote should be verbatim")
            check(speakers.get((qi["article"], qi["text"])) != speakers.get((qi["source_article"], qi["source_text"])),
                  "speaker_mismatch: both articles give the same speaker")
        elif qi["relation"] == "misattributed_narration":
            check((qi["source_article"], qi["source_text"].rstrip(".")) not in speakers,
                  "misattributed_narration: the source text is a quote in the source, not narration")
        elif qi["relation"] == "altered":
            check(qi["text"] != qi["source_text"], "altered quote equals its source")

    # conflicts, timeline, time expressions, boilerplate
    for c in GT["conflicts"] + GT["not_conflicts"]:
        for v in c["values"]:
            in_body(v["article"], v["text"], f"conflict ({c.get('quantity') or c.get('why')})")
    for g in GT.get("statement_groups", []):
        for v in g["sentences"]:
            in_body(v["article"], v["text"], f"statement group ({g['about']})")
    for c in GT.get("contradictions_in_words", []):
        for v in c["sentences"]:
            in_body(v["article"], v["text"], f"contradiction in words ({c['kind']})")
    for pair in GT.get("statement_pairs_not_same", []):
        for v in pair["sentences"]:
            in_body(v["article"], v["text"], "statement pair not the same")
    for e in GT["timeline"]:
        for v in e["evidence"]:
            in_body(v["article"], v["text"], f"timeline {e['date']}")
    true_date = {a["key"]: dt.date.fromisoformat(a["true_date"]) for a in GT["articles"]}
    stated = {a["key"]: dt.date.fromisoformat(a["published"]) for a in GT["articles"]}
    for t in GT["time_expressions"]:
        in_body(t["article"], t["text"], "time expression")
        if "context" in t:
            in_body(t["article"], t["context"], "time expression context")
            check(t["text"] in t["context"], f"context does not contain {t['text']!r}")
        check(t["type"] in ("DATE", "TIME", "DURATION", "SET"), f"bad timex type {t['type']!r}")
        if t["article"] in true_date:
            exp = expected_weekday_value(t["text"], true_date[t["article"]])
            if exp is not None:
                check(t["value"] == exp, f"{t['text']!r} in {t['article']!r}: value {t['value']} != {exp}")
            if "value_if_stated_date" in t:
                exp2 = expected_weekday_value(t["text"], stated[t["article"]])
                if exp2 is not None:
                    check(t["value_if_stated_date"] == exp2, f"{t['text']!r}: stated-date value {t['value_if_stated_date']} != {exp2}")
    for required in ("on Sunday", "last week", "late last month", "nightfall on Tuesday", "three days after the breach",
                     "Oct. 22", "earlier this month", "this week"):
        check(any(t["text"] == required for t in GT["time_expressions"]), f"required time expression {required!r} missing")

    for b in GT["boilerplate"]:
        art = arts.get(b["article"])
        if art is None:
            check(False, f"boilerplate: unknown article {b['article']!r}")
            continue
        for s in b["must_keep"]:
            in_body(b["article"], s, "boilerplate must_keep")
        raw_lines = {ln.strip() for ln in art["raw"].split("\n")}
        for s in b["must_remove"]:
            check(s in art["raw"], f"boilerplate must_remove not in raw file: {s!r}")
            check(s not in body[b["article"]], f"boilerplate must_remove still in clean body: {s!r}")
            if art["format"] == "txt":
                check(s in raw_lines, f"boilerplate must_remove is not a whole line: {s!r}")
        if art["format"] == "txt":
            src = next((r["source"] for r in GT["reuse"] if r["derived"] == b["article"] and r["kind"] == "verbatim"), None)
            if src:
                check(body[b["article"]] == body[src], "scraped .txt minus boilerplate is not the wire body")
        elif art.get("trafilatura") is not None:
            for s in b["must_remove"]:
                check(s not in art["trafilatura"], f"trafilatura kept boilerplate {s!r}")

    # entities
    names = {e["name"] for e in GT["entities"]}
    story_raw = {"A": "", "B": ""}
    for a in GT["articles"]:
        if a["key"] in arts:
            story_raw[a["story"]] += "\n" + arts[a["key"]]["title"] + "\n" + arts[a["key"]]["raw"]
    for e in GT["entities"]:
        check(e["type"] in ("PERSON", "ORG", "GPE", "LOC"), f"entity type {e['type']!r}")
        for v in e["variants"]:
            check(v in story_raw[e["story"]], f"entity variant {v!r} of {e['name']!r} not found in story {e['story']}")
        other = "B" if e["story"] == "A" else "A"
        check(e["name"] not in story_raw[other], f"entity {e['name']!r} also appears in story {other}")
    for pair in GT["must_not_merge"]:
        for n in pair:
            check(n in names, f"must_not_merge name {n!r} is not an entity")
    for q in GT["quotes"]:
        if q["via"] != "description":
            check(q["speaker"] in names, f"quote speaker {q['speaker']!r} is not an entity")

    if FAILURES:
        print(f"{len(FAILURES)} problem(s):")
        for f in FAILURES:
            print(" -", f)
        return 1
    print(f"OK: {len(keys)} articles, {len(GT['quotes'])} quotes, {len(GT['time_expressions'])} time expressions, "
          f"{len(GT['timeline'])} timeline events, {len(GT['entities'])} entities checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
