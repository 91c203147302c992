"""The control API's cross-cutting guards, installed by `create_app` in one call.

Order, outermost first: browser defences (headers, CSRF) → limits (body size, per-token
rate) → audit trail → the app. Refusals by the outer layers are answered before any route
runs; the audit trail sees every call that reaches routing. See docs/security.md and
docs/limits.md.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from firebreak.api.audit import AuditTrail
from firebreak.api.browser import BrowserGuard
from firebreak.api.limits import RequestLimits
from firebreak.api.problems import problem
from firebreak.config import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the guards to `app` (middleware added last runs first)."""
    app.add_middleware(AuditTrail)
    app.add_middleware(RequestLimits, settings=settings.api)
    app.add_middleware(BrowserGuard, cookie_secure=settings.api.cookie_secure)
    for error in (OperationalError, InterfaceError):  # not IntegrityError: that is a bug
        app.add_exception_handler(error, _store_unavailable)  # type: ignore[arg-type]


log = structlog.get_logger("firebreak.api")


async def _store_unavailable(_: Request, exc: DBAPIError) -> JSONResponse:
    """The store failed (disk full, database restarting): 503, the client retries.

    Nothing was acknowledged: the write was rolled back, so a retry cannot double it.
    The driver's message is logged (it names no secret), not sent.
    """
    reason = _reason(str(getattr(exc, "orig", exc)))
    log.error("store.unavailable", error=type(getattr(exc, "orig", exc)).__name__, reason=reason)
    resp = problem(503, "Store unavailable", f"store: {reason}; retry later",
                   errors=[{"field": "store", "reason": reason}])
    resp.headers["retry-after"] = "1"
    return resp


def _reason(message: str) -> str:
    text = message.lower()
    if "full" in text or "no space" in text:
        return "disk full"
    if "connect" in text or "terminat" in text or "shutdown" in text or "closed" in text:
        return "database unreachable"
    if "locked" in text:
        return "database busy"
    return "database error"
