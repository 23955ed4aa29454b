"""The JSON API under /api/v1: stories, briefings, articles, entities, quotes, claims, search, ingest.

Records are returned in the briefing schema's shapes (the schema's definitions
are the OpenAPI components); lists are pages ``{items, total, limit, offset}``.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

from fastapi import APIRouter, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..briefing import schema as briefing_schema
from ..errors import NotFound
from ..queries import one_story
from ..records import Claim, Entity, Quote
from ..search import MODES, Filters, search
from .app import ApiError, error_body, store_of
from .data import SORTS, filter_stories, snapshot

router = APIRouter(prefix="/api/v1", tags=["api"])
MAX_LIMIT = 200


# --------------------------------------------------------------------------- models
class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str


class ErrorModel(BaseModel):
    error: ErrorDetail


class StoryItem(BaseModel):
    id: str
    label: str
    first_seen: Optional[str]
    last_seen: Optional[str]
    articles: int
    sources: int
    disputed: int
    outlets: list[str]
    flags: list[str]


class StoryPage(BaseModel):
    items: list[StoryItem]
    total: int
    limit: int
    offset: int


class ArticleItem(BaseModel):
    id: str
    title: Optional[str]
    outlet: Optional[str]
    published: Optional[str]
    story_id: Optional[str]
    flags: list[str]


class ArticlePage(BaseModel):
    items: list[ArticleItem]
    total: int
    limit: int
    offset: int


class Hit(BaseModel):
    article_id: str
    span: list[int]
    text: str
    snippet: str
    marks: list[list[int]]
    story_id: Optional[str]
    outlet: Optional[str]
    published: Optional[str]
    title: Optional[str]
    score: float
    fts_rank: Optional[int]
    vector_rank: Optional[int]
    url: str


class SearchPage(BaseModel):
    query: str
    mode: str
    items: list[Hit]
    limit: int
    offset: int


class Outcome(BaseModel):
    path: str
    status: str
    article_id: Optional[str]
    reason: Optional[str]
    entry: Optional[int]


class JobModel(BaseModel):
    id: str
    kind: str
    status: str
    detail: str
    created: str
    finished: Optional[str]
    error: Optional[str]
    story_ids: list[str]
    outcomes: list[Outcome]


class PasteIn(BaseModel):
    text: str
    title: Optional[str] = None
    outlet: Optional[str] = None
    published: Optional[str] = None
    url: Optional[str] = None


class WatchIn(BaseModel):
    source: str


class SourceItem(BaseModel):
    source: str
    kind: str
    last_checked: Optional[str]
    last_status: Optional[str]
    last_error: Optional[str]
    added: int


class SourcePage(BaseModel):
    items: list[SourceItem]
    total: int
    limit: int
    offset: int


ERRORS = {code: {"model": ErrorModel, "description": what} for code, what in
          ((400, "Malformed request or query"), (401, "Token required"), (403, "Cross-site request or no CSRF token"),
           (404, "Unknown id"), (405, "Method not allowed"), (413, "Request too large"),
           (415, "Unsupported body type"))}


def _schema_ref(name: str) -> dict:
    return {200: {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{name}"}}}}, **ERRORS}


def _briefing_page(item: str) -> dict:
    return {200: {"description": "OK", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "total", "limit", "offset"],
        "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/Briefing_{item}"}},
                       "total": {"type": "integer"}, "limit": {"type": "integer"},
                       "offset": {"type": "integer"}}}}}}, **ERRORS}


def _page(items: list, limit: int, offset: int) -> dict:
    return {"items": items[offset:offset + limit], "total": len(items), "limit": limit, "offset": offset}


Limit = Query(50, ge=1, le=MAX_LIMIT)
Offset = Query(0, ge=0, le=10_000_000)


# --------------------------------------------------------------------------- stories
@router.get("/stories", response_model=StoryPage, responses=ERRORS, summary="Stories, filtered and sorted")
def list_stories(request: Request, limit: int = Limit, offset: int = Offset,
                 date_from: Optional[str] = Query(None, alias="from", pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$"),
                 date_to: Optional[str] = Query(None, alias="to", pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$"),
                 outlet: Optional[str] = Query(None, max_length=200),
                 entity: Optional[str] = Query(None, max_length=200),
                 min_sources: int = Query(0, ge=0, le=100_000),
                 sort: str = Query("size", pattern="^(" + "|".join(SORTS) + ")$")):
    rows = filter_stories(snapshot(store_of(request)).stories, date_from=date_from, date_to=date_to, outlet=outlet,
                          entity=entity, min_sources=min_sources, sort=sort)
    return _page([r.to_dict() for r in rows], limit, offset)


@router.get("/stories/{story_id}", responses=_schema_ref("Briefing"), summary="A story's briefing (schema_version 1)")
def story_briefing(request: Request, story_id: str):
    store = store_of(request)
    briefing = snapshot(store).briefing(store, _story_id(request, story_id))
    return JSONResponse(briefing.to_dict())


def _story_id(request: Request, story_id: str) -> str:
    try:
        return one_story(snapshot(store_of(request)).stories, story_id).id
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc), "list the stories at /api/v1/stories") from None


# --------------------------------------------------------------------------- articles
@router.get("/articles", response_model=ArticlePage, responses=ERRORS, summary="Articles in arrival order")
def list_articles(request: Request, limit: int = Limit, offset: int = Offset,
                  story: Optional[str] = Query(None, max_length=100)):
    snap = snapshot(store_of(request))
    ids = list(snap.articles_meta)
    if story:
        sid = _story_id(request, story)
        ids = [a for a in ids if snap.story_of.get(a) == sid]
    items = [{"id": a, "title": m["title"], "outlet": m["outlet"], "published": m["published"],
              "story_id": snap.story_of.get(a), "flags": [f["kind"] for f in m["flags"]]}
             for a in ids for m in [snap.articles_meta[a]]]
    return _page(items, limit, offset)


@router.get("/articles/{article_id}", responses=_schema_ref("Briefing_article"), summary="One article, cleaned")
def get_article(request: Request, article_id: str):
    _check_id(article_id)
    return JSONResponse(store_of(request).get_article(article_id).to_dict())


def _check_id(value: str) -> None:
    if not value.isalnum() or len(value) > 64:
        raise ApiError(404, "not_found", f"{value[:80]!r} is not an id", "ids are letters and digits, e.g. a1b2c3")


# --------------------------------------------------------------------------- entities, quotes, claims
def _story_filter(request: Request, records: list, story: Optional[str]) -> list:
    if not story:
        return records
    sid = _story_id(request, story)
    story_of = snapshot(store_of(request)).story_of
    return [r for r in records if sid in _stories_of(r, story_of)]


def _stories_of(rec: Any, story_of: dict) -> set:
    if isinstance(rec, Entity):
        return {story_of.get(m.article_id) for m in rec.mentions}
    if isinstance(rec, Quote):
        return {story_of.get(rec.article_id)}
    return {story_of.get(c.article_id) for c in rec.citations}


@router.get("/entities", responses=_briefing_page("entity"), summary="People, organisations, places")
def list_entities(request: Request, limit: int = Limit, offset: int = Offset,
                  story: Optional[str] = Query(None, max_length=100)):
    ents = list(snapshot(store_of(request)).entities.values())
    return _page([e.to_dict() for e in _story_filter(request, ents, story)], limit, offset)


@router.get("/entities/{entity_id}", responses=_schema_ref("Briefing_entity"), summary="One entity")
def get_entity(request: Request, entity_id: str):
    ent = snapshot(store_of(request)).entities.get(entity_id)
    if ent is None:
        raise ApiError(404, "not_found", f"no entity {entity_id[:80]!r}", "list them at /api/v1/entities")
    return JSONResponse(ent.to_dict())


@router.get("/quotes", responses=_briefing_page("quote"), summary="Who said what")
def list_quotes(request: Request, limit: int = Limit, offset: int = Offset,
                story: Optional[str] = Query(None, max_length=100),
                speaker: Optional[str] = Query(None, max_length=200)):
    quotes = _story_filter(request, store_of(request).get_records("quotes", Quote), story)
    if speaker:
        key = speaker.casefold()
        quotes = [q for q in quotes if q.speaker and key in (q.speaker.text or "").casefold()]
    return _page([q.to_dict() for q in quotes], limit, offset)


@router.get("/claims", responses=_briefing_page("claim"), summary="Claims with support and conflicts")
def list_claims(request: Request, limit: int = Limit, offset: int = Offset,
                story: Optional[str] = Query(None, max_length=100)):
    claims = _story_filter(request, store_of(request).get_records("claims", Claim), story)
    return _page([c.to_dict() for c in claims], limit, offset)


# --------------------------------------------------------------------------- search
@router.get("/search", response_model=SearchPage, responses=ERRORS, summary="Hybrid search over sentences")
def api_search(request: Request, q: str = Query(..., max_length=100_000), limit: int = Query(20, ge=1, le=100),
               offset: int = Query(0, ge=0, le=1000), story: Optional[str] = Query(None, max_length=100),
               outlet: Optional[str] = Query(None, max_length=200), entity: Optional[str] = Query(None, max_length=200),
               date_from: Optional[str] = Query(None, alias="from", max_length=20),
               date_to: Optional[str] = Query(None, alias="to", max_length=20),
               mode: str = Query("hybrid", pattern="^(" + "|".join(MODES) + ")$")):
    return run_search(request, q, Filters(story, outlet, entity, date_from, date_to), limit, offset, mode)


def run_search(request: Request, q: str, filters: Filters, limit: int, offset: int, mode: str) -> dict:
    from .data import span_href

    cfg = request.app.state.config
    hits = search(store_of(request), q, filters=filters, limit=limit, offset=offset, mode=mode, encoder=cfg.encoder)
    items = [{**h.to_dict(), "url": span_href(h.article_id, h.span) if h.span[1] else f"/articles/{h.article_id}"}
             for h in hits]
    return {"query": q, "mode": mode, "items": items, "limit": limit, "offset": offset}


# --------------------------------------------------------------------------- ingest and jobs
INGEST_BODY = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
    "application/json": {"schema": {"$ref": "#/components/schemas/PasteIn"}}}}}


@router.post("/ingest", status_code=202, response_model=JobModel, openapi_extra=INGEST_BODY,
             responses={**ERRORS, 202: {"description": "Queued"}}, summary="Add articles (files or pasted text)")
async def api_ingest(request: Request):
    from .pages import _form_csrf, paste_file, read_uploads

    kind = request.headers.get("content-type", "").split(";")[0].strip()
    jobs = request.app.state.jobs
    if kind == "application/json":
        _form_csrf(request, {})
        body = await _json_body(request, PasteIn, "text", 'send {"text": "...", "title": "...", "outlet": "..."}')
        job = jobs.submit_files("paste", [paste_file(request, body.text, body.title, body.outlet, body.published,
                                                     body.url)])
    elif kind == "multipart/form-data":
        job = jobs.submit_files("upload", await read_uploads(request))
    else:
        raise ApiError(415, "unsupported_media_type", f"cannot ingest a {kind or 'bodiless'} request",
                       "send multipart/form-data with `files`, or JSON with `text`")
    return JSONResponse(job.to_dict(), status_code=202)


async def _json_body(request: Request, model, field: str, hint: str):
    """The request's JSON body as ``model``; a named 400 error when it is not one."""
    try:
        return model.model_validate(await request.json())
    except Exception:
        raise ApiError(400, "bad_request", f"the body is not a JSON object with a `{field}` string", hint)


WATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/WatchIn"}}}}}


@router.get("/watch", response_model=SourcePage, responses=ERRORS, summary="Watched sources: last check, last error")
def list_watched(request: Request, limit: int = Limit, offset: int = Offset):
    from ..watch import source_states

    items = [_source_item(s) for s in source_states(store_of(request))]
    return _page(items, limit, offset)


@router.post("/watch", status_code=202, response_model=JobModel, openapi_extra=WATCH_BODY,
             responses={**ERRORS, 202: {"description": "Queued: the first poll"}},
             summary="Watch a feed URL, page URL or folder (polled now, then every few minutes)")
async def api_watch(request: Request):
    from .pages import _form_csrf, submit_watch

    _form_csrf(request, {})
    body = await _json_body(request, WatchIn, "source", '{"source": "https://example.org/feed.rss"}')
    return JSONResponse(submit_watch(request, body.source).to_dict(), status_code=202)


@router.delete("/watch", response_model=SourceItem, responses=ERRORS,
               summary="Stop watching a source (the articles it brought stay); answers its last state")
def api_unwatch(request: Request, source: str = Query(..., min_length=1, max_length=2000)):
    from .pages import _form_csrf, stop_watch

    _form_csrf(request, {})
    return _source_item(stop_watch(request, source)[0])


def _source_item(s) -> dict:
    return {"source": s.source, "kind": s.kind, "last_checked": s.last_checked, "last_status": s.last_status,
            "last_error": s.last_error, "added": s.added}


@router.get("/jobs/{job_id}", response_model=JobModel, responses=ERRORS, summary="Progress of an ingest job")
def get_job(request: Request, job_id: str):
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id[:40]!r}", "jobs are kept while the server runs")
    return job.to_dict()


# --------------------------------------------------------------------------- OpenAPI
def install_openapi(app) -> None:
    """Serve /api/v1/openapi.json, with the briefing schema's definitions as components."""

    def build() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title="storydesk API", version="1", routes=app.routes)
        doc["paths"] = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/")}
        comps = doc.setdefault("components", {}).setdefault("schemas", {})
        comps.update(briefing_components())
        comps["PasteIn"] = PasteIn.model_json_schema()
        comps["WatchIn"] = WatchIn.model_json_schema()
        doc["paths"]["/api/v1/openapi.json"] = {"get": {"summary": "This document", "responses": {
            "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
        app.openapi_schema = doc
        return doc

    app.openapi = build

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi_json():
        return JSONResponse(build())


def briefing_components() -> dict:
    """The briefing JSON Schema as OpenAPI components: ``Briefing`` and ``Briefing_<def>``."""
    root = copy.deepcopy(briefing_schema())
    defs = root.pop("$defs", {})
    for key in ("$schema", "$id"):
        root.pop(key, None)
    out = {"Briefing": root, **{f"Briefing_{k}": v for k, v in defs.items()}}
    return _rewrite_refs(out)


def _rewrite_refs(node):
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/Briefing_") if k == "$ref" else _rewrite_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


__all__ = ["router", "install_openapi", "error_body"]
