"""Browser defences for the dashboard (and every other answer on the API's origin).

- Security headers on every response: a content-security policy that allows scripts,
  styles and images from our own origin only (no inline script, no eval), no framing
  (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), no MIME sniffing, no referrer
  to other sites (`same-origin`; with `no-referrer` browsers send `Origin: null` on form
  posts, which the CSRF check would refuse).
  The interactive API docs (/docs, /redoc) load their own assets and keep no CSP.
- CSRF: a state-changing request (POST, PUT, PATCH, DELETE) sent by a browser from
  another origin is refused with 403: its Origin (or, lacking one, Referer) must name
  this host, and `Sec-Fetch-Site` must not say cross-site. Requests with a bearer token
  are not CSRF-able (a page on another site cannot set that header without CORS, which
  we do not allow). The session cookie is also HttpOnly and SameSite=Strict.
- Secure cookies: with `api.cookie_secure: true` (behind a TLS-terminating proxy) the
  dashboard cookie is marked Secure even though the app itself sees plain http.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firebreak import metrics
from firebreak.api.problems import problem

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin"),
           (b"cross-origin-opener-policy", b"same-origin")]
NO_CSP = ("/docs", "/redoc")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class BrowserGuard:
    """Security headers on every answer; CSRF refusal of cross-site state changes."""

    def __init__(self, app: ASGIApp, cookie_secure: bool | None = None) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] in UNSAFE and (reason := csrf_reason(headers)):
            metrics.api_refused.labels(reason="csrf").inc()
            resp = problem(403, "Cross-site request refused", f"origin: {reason}",
                           errors=[{"field": "origin", "reason": reason}])
            await resp(scope, receive, self._sender(scope, send))
            return
        await self.app(scope, receive, self._sender(scope, send))

    def _sender(self, scope: Scope, send: Send) -> Send:
        csp = not scope.get("path", "").startswith(NO_CSP)
        secure = self.cookie_secure or (
            self.cookie_secure is None and scope.get("scheme") == "https")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                names = {k.lower() for k, _ in out}
                out += [(k, v) for k, v in HEADERS if k not in names]
                if csp and b"content-security-policy" not in names:
                    out.append((b"content-security-policy", CSP.encode()))
                if secure:
                    out = [_secure_cookie(k, v) for k, v in out]
                message["headers"] = out
            await send(message)

        return with_headers


def csrf_reason(headers: dict[str, str]) -> str | None:
    """Why a state-changing request looks cross-site, or None if it does not."""
    if headers.get("authorization"):
        return None
    if headers.get("sec-fetch-site") == "cross-site":
        return "cross-site request (Sec-Fetch-Site)"
    source = headers.get("origin") or headers.get("referer")
    if not source:
        return None  # not sent by a browser: nothing for CSRF to ride on
    if source == "null":
        return "opaque origin"
    host = headers.get("host", "")
    if urlsplit(source).netloc.lower() != host.lower():
        return f"{urlsplit(source).netloc or source!r} is not this host"
    return None


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"secure" not in value.lower():
        return name, value + b"; Secure"
    return name, value
