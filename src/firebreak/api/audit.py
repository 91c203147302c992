"""The audit trail: every call to an operate or admin route is recorded (who, what, when,
from where), refused attempts included, in the append-only `audit_log` table.

Pure ASGI middleware. After the router has run, the matched route tells which scope it
required (its `require_<scope>` dependency) and `request.state.token` tells who called;
the row is written off the event loop. Signed approval links, which stand in for a token,
count as operate calls.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from typing import Any

import anyio
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firebreak.store.audit import AuditEntry, record

log = structlog.get_logger("firebreak.audit")
AUDITED = ("operate", "admin")
_SIGNED_LINK = re.compile(r"^/v1/runs/[^/]+/steps/[^/]+/link$")
_REQUIRE = re.compile(r"^require_(\w+)$")


def required_scope(route: Any) -> str | None:
    """The scope a route's `require(...)` dependency asks for, if any."""
    cached = getattr(route, "_firebreak_scope", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    found: str | None = None
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while stack and found is None:
        dep = stack.pop()
        if m := _REQUIRE.match(getattr(dep.call, "__name__", "") or ""):
            found = m.group(1)
        stack.extend(dep.dependencies)
    with contextlib.suppress(AttributeError):  # a route object that takes no attributes
        route._firebreak_scope = found
    return found


class AuditTrail:
    """Record operate and admin calls in the audit log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        path: str = scope.get("path", "")
        needed = required_scope(scope.get("route"))
        if needed is None and _SIGNED_LINK.match(path):
            needed = "operate"
        if needed not in AUDITED:
            return
        app = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        if runtime is None:
            return
        token = (scope.get("state") or {}).get("token")
        client = scope.get("client")
        entry = AuditEntry(
            scope=needed, method=scope.get("method", ""), path=path, status=status,
            token_id=getattr(token, "id", None), token_name=getattr(token, "name", None),
            client=client[0] if client else None, request_id=_request_id(scope))
        try:
            await anyio.to_thread.run_sync(_write, runtime, entry, scope, token is None)
        except Exception as exc:  # the store may be down; the call itself already happened
            log.error("audit.write_failed", path=path, status=status, error=type(exc).__name__)


def _write(runtime: Any, entry: AuditEntry, scope: Scope, unknown: bool) -> None:
    if unknown and entry.status == 403:  # a valid token without the scope: name it
        who = _caller(runtime, scope)
        if who is not None:
            entry = replace(entry, token_id=who.id, token_name=who.name)
    record(runtime.db, entry)


def _caller(runtime: Any, scope: Scope) -> Any:
    from firebreak.api.deps import _bootstrap
    from firebreak.store.tokens import verify_token

    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    secret = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not secret and (m := re.search(r"firebreak_token=([^;\s]+)", headers.get("cookie", ""))):
        secret = m.group(1)
    if not secret:
        return None
    return _bootstrap(runtime, secret) or verify_token(runtime.db, secret)


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return value.decode("latin-1")[:128]
    return None
