"""The FastAPI application behind `storydesk serve`: pages, the /api/v1 API, one error shape.

Every error, on a page or in the API, is ``{"error": {"code", "message", "hint"}}``
(pages show the same three lines); no traceback ever reaches a response.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BadQuery, NotFound, StorydeskError
from ..store import SQLiteStore, open_store
from . import security
from .jobs import JobQueue
from .security import Limits

log = logging.getLogger("storydesk.web")


class ApiError(Exception):
    """An error with its HTTP status and the three parts of the error shape."""

    def __init__(self, status: int, code: str, message: str, hint: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint


@dataclass
class WebConfig:
    db: str = "storydesk.db"
    token: Optional[str] = None
    limits: Limits = field(default_factory=Limits)
    analyse: Optional[Callable] = None  # the background analysis (default: briefing.analyse)
    encoder: Optional[Callable] = None  # query embedding for search (default: storydesk.models.embeddings)
    watch_every: Optional[float] = 600.0  # seconds between polls of the watched sources (None: only on demand)
    watch_rate: float = 2.0  # seconds between two requests to one host
    watch_timeout: float = 15.0  # seconds to wait for a host's answer

    def watch_options(self) -> dict:
        """Keyword arguments for :class:`storydesk.watch.Watcher`."""
        return {"min_interval": self.watch_rate, "timeout": self.watch_timeout}


class Stores(threading.local):
    """One store connection per worker thread (SQLite or PostgreSQL: neither connection is shared
    across threads)."""

    def __init__(self, db: str):
        self.db = db
        self.store: Optional[SQLiteStore] = None

    def get(self) -> SQLiteStore:
        if self.store is not None and getattr(self.store, "broken", False):  # PostgreSQL restarted
            self.store.close()
            self.store = None
        if self.store is None:
            self.store = open_store(self.db)
        return self.store


def create_app(config: WebConfig) -> FastAPI:
    from . import api, pages

    app = FastAPI(title="storydesk", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.stores = Stores(config.db)
    app.state.jobs = JobQueue(config.db, config.analyse)
    if config.watch_every:
        app.state.jobs.poll_every(config.watch_every, **config.watch_options())
    open_store(config.db).close()  # create / migrate the store once, before any request
    app.include_router(api.router)
    app.include_router(pages.router)
    api.install_openapi(app)
    _install_errors(app)
    app.middleware("http")(_guard)
    return app


def store_of(request: Request) -> SQLiteStore:
    return request.app.state.stores.get()


# --------------------------------------------------------------------------- middleware
async def _guard(request: Request, call_next):
    cfg: WebConfig = request.app.state.config
    path = request.url.path
    response = _refuse(request, cfg, path)
    if response is None:
        if security.CSRF_COOKIE not in request.cookies:
            request.state.csrf = security.new_csrf()
        else:
            request.state.csrf = request.cookies[security.CSRF_COOKIE]
        response = await call_next(request)
        if security.CSRF_COOKIE not in request.cookies and not path.startswith("/api/"):
            response.set_cookie(security.CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
    download = path.startswith("/stories/") and path.endswith("/briefing.html")
    security.headers(response, download=download)
    return response


def _refuse(request: Request, cfg: WebConfig, path: str) -> Optional[Response]:
    """The response refusing this request before any route runs, or None to go on."""
    if not (path in ("/login", "/api/v1/openapi.json") or path.startswith("/static/")) \
            and not security.token_ok(request, cfg.token):
        if path.startswith("/api/"):
            return error_response(401, "token_required", "this server requires a token",
                                  "send `Authorization: Bearer TOKEN` (the token in the server's --token-file)")
        return RedirectResponse("/login", status_code=303)
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > cfg.limits.max_body_bytes):
        return error_response(413, "request_too_large",
                              f"the request is over the {cfg.limits.max_body_bytes // 1_000_000} MB limit",
                              "send fewer or smaller files", path)
    if request.method not in security.SAFE_METHODS and security.cross_site(request):
        return error_response(403, "cross_site_request", "a request from another site was refused",
                              "submit the form from this server's own pages", path)
    return None


# --------------------------------------------------------------------------- errors
def error_body(code: str, message: str, hint: str = "") -> dict:
    return {"error": {"code": code, "message": message, "hint": hint}}


def error_response(status: int, code: str, message: str, hint: str = "", path: str = "/api/") -> Response:
    if path.startswith("/api/"):
        return JSONResponse(error_body(code, message, hint), status_code=status)
    from .pages import render_error
    return render_error(status, code, message, hint)


_STATUS_CODES = {400: "bad_request", 401: "token_required", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "request_too_large", 415: "unsupported_media_type",
                 422: "bad_request"}


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.hint, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        hint = {404: "check the address; the stories list is at /", 405: "use the method the API documents"}
        return error_response(exc.status_code, code, str(exc.detail), hint.get(exc.status_code, ""), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
                             for e in exc.errors()[:5])
        return error_response(400, "bad_request", f"the request is malformed ({problems})",
                              "see /api/v1/openapi.json for the parameters", request.url.path)

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound):
        return error_response(404, "not_found", str(exc), "list ids at /api/v1/stories or /api/v1/articles",
                              request.url.path)

    @app.exception_handler(BadQuery)
    async def _query(request: Request, exc: BadQuery):
        return error_response(400, exc.code, str(exc), "search words are matched as plain words", request.url.path)

    @app.exception_handler(StorydeskError)
    async def _named(request: Request, exc: StorydeskError):
        return error_response(400, type(exc).__name__.lower(), str(exc), "", request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, "internal_error", "something went wrong on the server",
                              "the server log has the details; please report it", request.url.path)


def static_file(name: str) -> str:
    if name == "briefing.css":
        return resources.files("storydesk.render").joinpath("briefing.css").read_text(encoding="utf-8")
    return resources.files("storydesk.web").joinpath("static", name).read_text(encoding="utf-8")


def css_response(name: str) -> Response:
    try:
        return Response(static_file(name), media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})
    except (FileNotFoundError, OSError):
        raise ApiError(404, "not_found", f"no static file {name!r}", "")


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)
