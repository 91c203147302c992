"""Request limits on the control API: body size and a per-token rate (token buckets).

Pure ASGI middleware, applied before routing so an oversized or too frequent request
costs almost nothing. A body larger than `api.max_body_bytes` is refused with 413 (by its
Content-Length, or as soon as a chunked body grows past the cap); a token (or, without
one, a client address) sending faster than `api.rate_limit_per_second` after a burst of
`api.rate_limit_burst` gets 429 with Retry-After. High-volume ingest routes are not rate
limited here: batches and bodies bound them, and refusing telemetry loses evidence.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firebreak import metrics
from firebreak.api.problems import problem
from firebreak.config import ApiSettings

INGEST_PATHS = ("/v1/events", "/v1/traces", "/v1/intake")
UNLIMITED = ("/healthz", "/ui/static/")
MAX_BUCKETS = 10_000  # callers remembered at once; the least recently seen are forgotten


class TokenBuckets:
    """One token bucket per caller key, in a bounded LRU map."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] | None = None) -> None:
        self.rate, self.burst = rate, float(burst)
        self.clock = clock or time.monotonic
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 if the caller may go now, else the seconds until it may."""
        now = self.clock()
        level, last = self.buckets.pop(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate)
        wait = 0.0 if level >= 1 else (1 - level) / self.rate
        self.buckets[key] = (level - 1 if wait == 0 else level, now)
        if len(self.buckets) > MAX_BUCKETS:
            self.buckets.popitem(last=False)
        return wait


def caller_key(scope: Scope) -> str:
    """A hash of the bearer token or dashboard cookie, else the client address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and b"firebreak_token=" in value):
            return hashlib.sha256(value).hexdigest()[:32]
    client = scope.get("client") or ("unknown", 0)
    return f"ip:{client[0]}"


class RequestLimits:
    """Refuse oversized bodies (413) and callers over their rate (429)."""

    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        rate = settings.rate_limit_per_second
        self.buckets = TokenBuckets(rate, settings.rate_limit_burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            metrics.api_refused.labels(reason="body_too_large").inc()
            await self._refuse(scope, send, 413, "Request body too large",
                               f"body: {length} bytes is over the limit of {self.max_body}")
            return
        wait = self._wait(scope)
        if wait > 0:
            metrics.api_refused.labels(reason="rate_limited").inc()
            await self._refuse(scope, send, 429, "Too many requests",
                               f"token: over {self.buckets.rate:g} requests/s"  # type: ignore[union-attr]
                               f"; retry in {wait:.2f}s",
                               headers={"retry-after": str(max(1, round(wait + 0.5)))})
            return
        await self._bounded(scope, receive, send)

    def _wait(self, scope: Scope) -> float:
        """Seconds this caller must wait (0: go ahead)."""
        path: str = scope.get("path", "")
        if self.buckets is None or path.startswith(UNLIMITED) or (
                scope.get("method") == "POST" and path.startswith(INGEST_PATHS)):
            return 0.0
        return self.buckets.take(caller_key(scope))

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; if a streamed body passes the cap, answer 413 and cut the app off."""
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body and not started:
                    refused = True
                    metrics.api_refused.labels(reason="body_too_large").inc()
                    await self._refuse(scope, send, 413, "Request body too large",
                                       f"body: over the limit of {self.max_body} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we already answered; whatever the app says now is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, title: str, detail: str,
                      headers: dict[str, str] | None = None) -> None:
        field = detail.split(":", 1)[0]
        resp = problem(status, title, detail, errors=[{"field": field, "reason": detail}])
        for k, v in (headers or {}).items():
            resp.headers[k] = v

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await resp(scope, nothing, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
