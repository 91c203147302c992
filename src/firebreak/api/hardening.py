"""The control API's cross-cutting guards, installed by `create_app` in one call.

Order, outermost first: browser defences (headers, CSRF) → limits (body size, per-token
rate) → audit trail → the app. Refusals by the outer layers are answered before any route
runs; the audit trail sees every call that reaches routing. See docs/security.md and
docs/limits.md.
"""

from __future__ import annotations

from fastapi import FastAPI

from firebreak.api.audit import AuditTrail
from firebreak.api.browser import BrowserGuard
from firebreak.api.limits import RequestLimits
from firebreak.config import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the guards to `app` (middleware added last runs first)."""
    app.add_middleware(AuditTrail)
    app.add_middleware(RequestLimits, settings=settings.api)
    app.add_middleware(BrowserGuard, cookie_secure=settings.api.cookie_secure)
