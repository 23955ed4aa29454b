"""Security for `storydesk serve`: token, CSRF, request limits and response headers.

- A token (from ``--token-file``) is required on every request when set: an
  ``Authorization: Bearer`` header, or the cookie the login form sets.
- Unsafe requests must be same-origin (``Origin``/``Sec-Fetch-Site``), and forms
  carry a CSRF token equal to the ``sd_csrf`` cookie (double submit); API
  clients that send no cookie (curl, scripts) are not browsers and need no token.
- The Content-Security-Policy allows nothing but the app's own stylesheets and
  images: no script at all, inline or remote, and no remote source of any kind.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Optional

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'; script-src 'none'")
# A downloaded HTML briefing is the static page: its stylesheet is inline, still no script.
CSP_DOWNLOAD = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; sandbox"
CSRF_COOKIE = "sd_csrf"
TOKEN_COOKIE = "sd_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Limits:
    max_file_bytes: int = 5_000_000  # one uploaded file
    max_files: int = 20  # per upload
    max_body_bytes: int = 25_000_000  # one request
    max_paste_chars: int = 200_000


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token_file(path: Optional[str]) -> Optional[str]:
    """The token in ``path`` (whitespace stripped); None when no path is given."""
    from ..errors import ConfigError

    if not path:
        return None
    try:
        token = open(path, encoding="utf-8").read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read --token-file {path}: {exc.strerror}; give a file holding the token")
    if len(token) < 16:
        raise ConfigError(f"the token in {path} is {len(token)} characters; use at least 16 "
                          "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))' > token.txt`)")
    return token


def same(a: Optional[str], b: Optional[str]) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def token_ok(request, token: Optional[str]) -> bool:
    if token is None:
        return True
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    return same(bearer, token) or same(request.cookies.get(TOKEN_COOKIE), token)


def cross_site(request) -> bool:
    """True when a browser says the request comes from another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        return origin.rstrip("/") != own
    return origin == "null"


def csrf_ok(request, form_token: Optional[str]) -> bool:
    """Double submit: the form's (or X-CSRF-Token header's) token equals the cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = form_token or request.headers.get("x-csrf-token")
    return same(cookie, sent)


def headers(response, download: bool = False) -> None:
    response.headers["Content-Security-Policy"] = CSP_DOWNLOAD if download else CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
