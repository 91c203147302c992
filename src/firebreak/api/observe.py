"""Request context for logs and metrics: a request id (and incident id) bound to structlog.

Pure ASGI middleware: every log line written while a request is handled carries
`request_id` (taken from a sane `X-Request-ID` header or generated) and, on incident
routes, `incident_id`; the response echoes `X-Request-ID`; one canonical line is logged
per request and the HTTP metrics move.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firebreak import metrics

log = structlog.get_logger("firebreak.api")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_INCIDENT = re.compile(r"/incidents/(inc-[A-Za-z0-9]+)")
_QUIET = ("/metrics", "/healthz", "/ui/static/")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text):
                return text
    return uuid.uuid4().hex


class RequestContext:
    """Bind request and incident ids for the duration of each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        path: str = scope.get("path", "")
        bound: dict[str, Any] = {"request_id": rid}
        if m := _INCIDENT.search(path):
            bound["incident_id"] = m.group(1)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        with structlog.contextvars.bound_contextvars(**bound):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._record(scope, path, status, time.perf_counter() - start)

    @staticmethod
    def _record(scope: Scope, path: str, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "")
        metrics.http_requests.labels(route=route, method=method, status=str(status)).inc()
        metrics.http_seconds.labels(route=route).observe(seconds)
        level = log.debug if path.startswith(_QUIET) else log.info
        level("http.request", method=method, route=route, path=path, status=status,
              duration_ms=round(seconds * 1000, 2))
