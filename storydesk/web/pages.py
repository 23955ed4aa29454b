"""Server-rendered pages: stories, a story (the briefing), an article with its spans, an entity,
search, adding articles, job progress. Jinja2 autoescapes every value; the only raw HTML inserted
is the briefing renderer's sections, which escape article text themselves."""
from __future__ import annotations

import datetime as dt
import functools
from importlib import resources
from typing import Optional

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup

from ..briefing import render as render_briefing, update_summary
from ..errors import BadQuery
from ..ingest.detect import check_binary, detect_format
from ..errors import IngestError
from ..records import Citation, Quote
from ..render import build_view, flag_label, flag_level, fmt_date, fmt_range, parse_when
from ..render.html import sections as briefing_sections
from ..search import MAX_QUERY_CHARS, MODES, Filters
from . import security
from .app import ApiError, css_response, store_of
from .data import SORTS, filter_stories, segments, snapshot, span_href, timex_marks

router = APIRouter(include_in_schema=False)
MAX_LISTED = 100  # stories shown on the list page


@functools.lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(resources.files("storydesk.web").joinpath("templates")))
    e = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    e.filters["date"] = fmt_date
    e.filters["flag_label"], e.filters["flag_level"] = flag_label, flag_level  # data/flags.json
    return e


def page(request: Optional[Request], name: str, status: int = 200, **ctx) -> HTMLResponse:
    csrf = getattr(request.state, "csrf", "") if request is not None else ""
    jobs = request.app.state.jobs.pending() if request is not None else 0
    text = env().get_template(name).render(csrf=csrf, pending_jobs=jobs, **ctx)
    return HTMLResponse(text, status_code=status)


def render_error(status: int, code: str, message: str, hint: str) -> HTMLResponse:
    return page(None, "error.html", status=status, title="Error", code=code, message=message, hint=hint)


# --------------------------------------------------------------------------- static
@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in ("web.css", "briefing.css"):
        raise ApiError(404, "not_found", f"no static file {name[:60]!r}", "")
    return css_response(name)


# --------------------------------------------------------------------------- stories
@router.get("/", response_class=HTMLResponse)
def stories(request: Request, date_from: Optional[str] = None, date_to: Optional[str] = None,
            outlet: Optional[str] = None, entity: Optional[str] = None, min_sources: str = "", sort: str = "size"):
    args = {"from": _date_arg(date_from or request.query_params.get("from"), "from"),
            "to": _date_arg(date_to or request.query_params.get("to"), "to"),
            "outlet": (outlet or "")[:200], "entity": (entity or "")[:200],
            "min_sources": _int_arg(min_sources, "min_sources"), "sort": sort if sort in SORTS else "size"}
    snap = snapshot(store_of(request))
    rows = filter_stories(snap.stories, date_from=args["from"], date_to=args["to"], outlet=args["outlet"] or None,
                          entity=args["entity"] or None, min_sources=args["min_sources"] or 0, sort=args["sort"])
    outlets = sorted({o for r in snap.stories for o in r.outlets})
    shown = rows[:MAX_LISTED]  # a page of the best; filters narrow the rest down
    return page(request, "stories.html", title="Stories", rows=shown, n_matching=len(rows), args=args, sorts=SORTS,
                outlets=outlets[:500],
                total=len(snap.stories), n_articles=len(snap.articles_meta), fmt_range=_story_range)


def _story_range(row) -> str:
    a, b = parse_when((row.first_seen or "")[:10]), parse_when((row.last_seen or "")[:10])
    return fmt_range(a[0] if a else None, b[0] if b else None)


def _date_arg(value: Optional[str], name: str) -> Optional[str]:
    if not value:
        return None
    if parse_when(value[:10]) is None or len(value) > 10:
        raise ApiError(400, "bad_filter", f"{name} {value[:40]!r} is not a date", "write YYYY-MM-DD")
    return value


def _int_arg(value: str, name: str) -> Optional[int]:
    if not value:
        return None
    if not value.isdigit() or len(value) > 6:
        raise ApiError(400, "bad_filter", f"{name} {value[:40]!r} is not a whole number", "write e.g. 2")
    return int(value)


# --------------------------------------------------------------------------- a story
@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: str, since: Optional[str] = None):
    from .api import _story_id

    store = store_of(request)
    sid = _story_id(request, story_id)
    snap = snapshot(store)
    briefing = snap.briefing(store, sid)
    if since:
        _date_arg(since, "since")
        briefing = update_summary(_copy(briefing), since)
    view = build_view(briefing)
    view.cite_href = lambda c: span_href(c.article_id, c.span)
    view.article_href = lambda aid: f"/articles/{aid}"
    parts = [(a, t, Markup(body)) for a, t, body in briefing_sections(view)]
    seen_cookie = f"sd_seen_{sid[:16]}"
    last_visit = request.cookies.get(seen_cookie, "")
    last_visit = last_visit if parse_when(last_visit) else None
    row = next(r for r in snap.stories if r.id == sid)
    response = page(request, "story.html", title=view.label, view=view, sections=parts, row=row, since=since,
                    last_visit=last_visit, notes=view.notes, provenance=provenance_svg(view))
    # Remember the newest article the reader has seen: "new since my last visit" is what was published after it.
    newest = (row.last_seen or "")[:10] or dt.date.today().isoformat()
    response.set_cookie(seen_cookie, newest, max_age=400 * 86400, samesite="strict", httponly=True)
    return response


def _copy(briefing):
    from ..records import Briefing
    return Briefing.from_dict(briefing.to_dict())


@router.get("/stories/{story_id}/briefing.{fmt}")
def download(request: Request, story_id: str, fmt: str):
    from .api import _story_id

    if fmt not in ("md", "html", "json"):
        raise ApiError(404, "not_found", f"no {fmt[:10]!r} download", "use briefing.md, briefing.html or briefing.json")
    store = store_of(request)
    sid = _story_id(request, story_id)
    text = render_briefing(snapshot(store).briefing(store, sid), fmt)
    media = {"md": "text/markdown", "html": "text/html", "json": "application/json"}[fmt]
    return Response(text, media_type=f"{media}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{sid}.{fmt}"'})


def provenance_svg(view) -> Markup:
    """Who copies whom: one node per source (by number), arrows from origin to copy, rows by group."""
    from ..render.html import esc

    groups = [g for g in view.groups if len(g.articles) > 1]
    edges = [(r.source_id, r.derived_id, r.kind) for r in view.briefing.reuse
             if r.source_id in view.number and r.derived_id in view.number]
    if not edges:
        return Markup("")
    ids = list(dict.fromkeys([a for e in edges for a in e[:2]]))
    width, row_h = 640, 46
    y, placed = 30, {}
    for g in groups:
        members = [a.id for a in g.articles if a.id in ids]
        if not members:
            continue
        for k, aid in enumerate(members):
            placed[aid] = (60 + (k % 5) * 120, y + (k // 5) * row_h)
        y += row_h * (1 + (len(members) - 1) // 5) + 14
    for aid in ids:
        if aid not in placed:
            placed[aid] = (60, y)
            y += row_h
    out = [f'<svg class="prov-svg" viewBox="0 0 {width} {y}" role="img" aria-label="Who copies whom">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="prov-head"/></marker></defs>']
    for src, dst, kind in edges:
        (x1, y1), (x2, y2) = placed[src], placed[dst]
        out.append(f'<line class="prov-edge {esc(kind)}" x1="{x1 + 18}" y1="{y1}" x2="{x2 - 18}" y2="{y2}" '
                   f'marker-end="url(#arrow)"><title>{esc(kind.replace("_", " "))}</title></line>')
    for aid, (x, yy) in placed.items():
        n = view.number[aid]
        out.append(f'<a href="/articles/{esc(aid)}"><g class="prov-node"><title>[{n}] {esc(view.outlet(aid))}</title>'
                   f'<circle cx="{x}" cy="{yy}" r="16"/><text x="{x}" y="{yy + 4}">{n}</text>'
                   f'<text class="prov-label" x="{x}" y="{yy + 30}">{esc(view.outlet(aid)[:18])}</text></g></a>')
    out.append("</svg>")
    return Markup("\n".join(out))


# --------------------------------------------------------------------------- an article
@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: str, span: Optional[str] = None):
    from .api import _check_id

    _check_id(article_id)
    store = store_of(request)
    art = store.get_article(article_id)
    snap = snapshot(store)
    target = _span_arg(span)
    if target and target[1] > len(art.text):
        raise ApiError(400, "bad_span", f"span {target[0]}-{target[1]} is outside the article's text "
                       f"({len(art.text):,} characters)", f"write a span inside 0-{len(art.text)}")
    marks = sorted(snap.marks.get(art.id, []) + timex_marks(store, art), key=lambda m: (m.start, -m.end))
    segs = segments(art.text, marks, target)
    listed = [m for m in marks if m.kind in ("quote", "claim", "event", "timex", "reused", "reuses")]
    sid = snap.story_of.get(art.id)
    story_row = next((r for r in snap.stories if r.id == sid), None)
    return page(request, "article.html", title=art.title or art.id, art=art, segs=segs, marks=listed,
                story=story_row, target=target, target_text=art.text[target[0]:target[1]] if target else None)


def _span_arg(value: Optional[str]) -> Optional[tuple[int, int]]:
    if not value:
        return None
    start, _, end = value.partition("-")
    if not (start.isdigit() and end.isdigit()) or len(value) > 24 or int(start) >= int(end):
        raise ApiError(400, "bad_span", f"span {value[:30]!r} is not START-END", "write e.g. ?span=120-180")
    return int(start), int(end)


@router.get("/articles/{article_id}/raw")
def raw(request: Request, article_id: str):
    from .api import _check_id

    _check_id(article_id)
    store = store_of(request)
    art = store.get_article(article_id)
    if not art.raw_sha256:
        raise ApiError(404, "not_found", "this article's raw input was not kept", "")
    data = store.get_raw(art.raw_sha256)
    # Served as an attachment of plain text: the browser never renders the original HTML.
    return Response(data, media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{art.id}.raw.txt"'})


# --------------------------------------------------------------------------- an entity
@router.get("/entities/{entity_id}", response_class=HTMLResponse)
def entity(request: Request, entity_id: str):
    store = store_of(request)
    snap = snapshot(store)
    ent = snap.entities.get(entity_id)
    if ent is None:
        raise ApiError(404, "not_found", f"no entity {entity_id[:60]!r}", "entities are listed on story pages")
    story_ids = {snap.story_of.get(m.article_id) for m in ent.mentions}
    stories_in = [r for r in snap.stories if r.id in story_ids]
    quotes = store.get_records("quotes", Quote)
    said = [q for q in quotes if q.speaker and q.speaker.entity_id == ent.id]
    names = {ent.name.casefold(), *(v.casefold() for v in ent.variants)}
    about = [q for q in quotes if q not in said and any(n in q.text.casefold() for n in names if len(n) > 3)]
    return page(request, "entity.html", title=ent.name, ent=ent, stories=stories_in, said=said[:100],
                about=about[:100], meta=snap.articles_meta, span_href=span_href)


# --------------------------------------------------------------------------- search
@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", story: str = "", outlet: str = "", entity: str = "",
                mode: str = "hybrid"):
    from .api import run_search

    p = request.query_params
    args = {"q": q[:MAX_QUERY_CHARS + 1], "story": story[:100], "outlet": outlet[:200], "entity": entity[:200],
            "from": (p.get("from") or "")[:10], "to": (p.get("to") or "")[:10],
            "mode": mode if mode in MODES else "hybrid"}
    result, error = None, None
    if q.strip():
        try:
            result = run_search(request, q, Filters(story or None, outlet or None, entity or None,
                                                    args["from"] or None, args["to"] or None), 30, 0, args["mode"])
        except BadQuery as exc:
            error = {"code": exc.code, "message": str(exc), "hint": "search words are matched as plain words"}
    return page(request, "search.html", title="Search", args=args, result=result, error=error, modes=MODES,
                status=400 if error else 200, stories=_story_choices(request, args["story"]), marked=_marked)


def _story_choices(request: Request, chosen: str) -> list:
    """The largest stories for the story filter (a menu of thousands would cost more than the search);
    the chosen one is always there."""
    rows = snapshot(store_of(request)).by_size
    return rows[:MAX_LISTED] + [r for r in rows[MAX_LISTED:] if chosen and r.id.startswith(chosen)][:1]


def _marked(snippet: str, marks: list) -> Markup:
    """The snippet escaped, with the matched words in <mark>."""
    out, pos = [], 0
    for start, end in sorted(marks):
        if start < pos:
            continue
        out.append(Markup.escape(snippet[pos:start]))
        out.append(Markup("<mark>") + Markup.escape(snippet[start:end]) + Markup("</mark>"))
        pos = end
    out.append(Markup.escape(snippet[pos:]))
    return Markup("").join(out)


# --------------------------------------------------------------------------- adding articles
@router.get("/add", response_class=HTMLResponse)
def add_form(request: Request):
    lim = request.app.state.config.limits
    return page(request, "add.html", title="Add articles", limits=lim)


async def read_uploads(request: Request) -> list[tuple[str, bytes]]:
    """The uploaded files, checked against the limits; binary files are refused here, not later."""
    lim = request.app.state.config.limits
    try:
        form = await request.form(max_files=lim.max_files, max_fields=20, max_part_size=lim.max_file_bytes)
    except Exception as exc:  # the multipart parser's own limits
        raise ApiError(413 if "exceed" in str(exc).lower() else 400, "bad_upload", f"the upload was refused ({exc})",
                       f"send at most {lim.max_files} files of at most {lim.max_file_bytes // 1_000_000} MB each")
    _form_csrf(request, form)
    files = []
    for item in form.getlist("files"):
        if not hasattr(item, "read"):
            continue
        data = await item.read(lim.max_file_bytes + 1)
        name = item.filename or "upload.txt"
        if len(data) > lim.max_file_bytes:
            raise ApiError(413, "file_too_large", f"{name[:80]} is over {lim.max_file_bytes // 1_000_000} MB",
                           "split it or ingest it with `storydesk ingest` on the command line")
        # A WARC archive is gzip bytes: `storydesk ingest` reads it without the binary check, and so does this.
        if data.strip() and detect_format(name, data[:65536]) != "warc":
            try:
                check_binary(name, data)
            except IngestError as exc:
                raise ApiError(400, "binary_upload", str(exc), "upload text, HTML, JSON, feeds or WARC files")
        files.append((name, data))
    if not files:
        raise ApiError(400, "no_files", "no file was uploaded", "choose one or more files")
    if len(files) > lim.max_files:
        raise ApiError(413, "too_many_files", f"{len(files)} files; at most {lim.max_files} per upload", "")
    return files


def _form_csrf(request: Request, form) -> None:
    """Browser forms must carry the CSRF token; API clients without cookies are not browsers."""
    if request.url.path.startswith("/api/") and security.CSRF_COOKIE not in request.cookies:
        return
    if not security.csrf_ok(request, form.get("csrf")):
        raise ApiError(403, "csrf_failed", "the form's security token is missing or stale",
                       "reload the page and submit the form again")


def paste_file(request: Request, text: str, title=None, outlet=None, published=None, url=None) -> tuple[str, bytes]:
    """Pasted text as a .txt file with ``key: value`` header lines, which ingest reads as metadata."""
    lim = request.app.state.config.limits
    if not text or not text.strip():
        raise ApiError(400, "empty_text", "the pasted text is empty", "paste the article's text")
    if len(text) > lim.max_paste_chars:
        raise ApiError(413, "text_too_long", f"the text is {len(text):,} characters; at most {lim.max_paste_chars:,}",
                       "upload it as a file instead")
    head = [f"{k}: {' '.join(str(v).split())[:300]}" for k, v in
            (("title", title), ("source", outlet), ("date", published), ("url", url)) if v and str(v).strip()]
    body = ("\n".join(head) + "\n\n" if head else "") + text
    return "pasted.txt", body.encode("utf-8")


@router.post("/add/upload")
async def add_upload(request: Request):
    job = request.app.state.jobs.submit_files("upload", await read_uploads(request))
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/add/paste")
async def add_paste(request: Request):
    form = await request.form(max_files=0, max_fields=10, max_part_size=request.app.state.config.limits.max_paste_chars * 4)
    _form_csrf(request, form)
    f = {k: (form.get(k) if isinstance(form.get(k), str) else None) for k in ("text", "title", "outlet", "published")}
    job = request.app.state.jobs.submit_files("paste", [paste_file(request, f["text"] or "", f["title"], f["outlet"],
                                                                   f["published"])])
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


# --------------------------------------------------------------------------- watched sources
MAX_SOURCE_CHARS = 2000


@router.get("/watch", response_class=HTMLResponse)
def watch_page(request: Request):
    from ..watch import source_states

    return page(request, "watch.html", title="Watched sources", sources=source_states(store_of(request)),
                every=request.app.state.config.watch_every)


@router.post("/watch")
async def watch_add(request: Request):
    form = await request.form(max_files=0, max_fields=4, max_part_size=MAX_SOURCE_CHARS * 4)
    _form_csrf(request, form)
    source = form.get("source")
    job = submit_watch(request, source if isinstance(source, str) else "")
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/watch/check")
async def watch_check(request: Request):
    _form_csrf(request, await request.form(max_files=0, max_fields=2, max_part_size=1000))
    job = request.app.state.jobs.submit_watch(None, **request.app.state.config.watch_options())
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/watch/stop")
async def watch_stop(request: Request):
    form = await request.form(max_files=0, max_fields=4, max_part_size=MAX_SOURCE_CHARS * 4)
    _form_csrf(request, form)
    source = form.get("source")
    stop_watch(request, source if isinstance(source, str) else "")
    return RedirectResponse("/watch", status_code=303)


def stop_watch(request: Request, source: str) -> list:
    """Stop following one source; a named 404 when it is not watched."""
    from ..errors import NotFound
    from ..watch import stop_watching

    try:
        return stop_watching(store_of(request), [source])
    except NotFound as exc:
        raise ApiError(404, "not_watched", str(exc), "list the watched sources at /api/v1/watch")


def submit_watch(request: Request, source: str):
    """Queue the first poll of a source to watch (it stays watched); refuse what storydesk.watch cannot follow."""
    from ..errors import ConfigError
    from ..watch import source_kind

    source = source.strip()
    if not source:
        raise ApiError(400, "empty_source", "no source was given",
                       "give a feed or page URL (http or https), or a folder on the server")
    if len(source) > MAX_SOURCE_CHARS:
        raise ApiError(400, "bad_source", f"the source is {len(source):,} characters; at most {MAX_SOURCE_CHARS:,}", "")
    try:
        source_kind(source)
    except ConfigError as exc:
        raise ApiError(400, "bad_source", str(exc), "e.g. https://example.org/feed.rss or /srv/news")
    return request.app.state.jobs.submit_watch([source], **request.app.state.config.watch_options())


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str):
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id[:40]!r}", "jobs are kept while the server runs")
    snap = snapshot(store_of(request))
    labels = {r.id: r.label for r in snap.stories}
    return page(request, "job.html", title="Adding articles", job=job, labels=labels,
                running=job.status not in ("done", "failed"))


# --------------------------------------------------------------------------- login (token servers)
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request):
    return page(request, "login.html", title="Sign in", failed=False)


@router.post("/login")
async def login(request: Request):
    form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
    token = request.app.state.config.token
    sent = form.get("token") if isinstance(form.get("token"), str) else ""
    if not security.csrf_ok(request, form.get("csrf")) or not (token and security.same(sent.strip(), token)):
        return page(request, "login.html", title="Sign in", failed=True, status=403)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(security.TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return response


__all__ = ["router", "render_error", "read_uploads", "paste_file", "submit_watch", "stop_watch", "PlainTextResponse", "Citation"]
