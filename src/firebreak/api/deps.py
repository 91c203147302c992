"""Shared dependencies: the runtime, the database, and scope-checked auth."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from firebreak.runtime import Runtime
from firebreak.store import Database
from firebreak.store.tokens import TokenInfo, verify_token

bearer = HTTPBearer(auto_error=False, description="Firebreak API token")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(runtime: Runtime = Depends(get_runtime)) -> Database:
    return runtime.db


def _token_from(request: Request, creds: HTTPAuthorizationCredentials | None) -> str | None:
    if creds is not None:
        return creds.credentials
    # The dashboard sends its token in a cookie; the API accepts either.
    return request.cookies.get("firebreak_token")


def require(scope: str) -> Callable[..., TokenInfo]:
    """A dependency that refuses a missing token (401) or one without `scope` (403)."""

    def check(
        request: Request,
        creds: HTTPAuthorizationCredentials | None = Depends(bearer),
        runtime: Runtime = Depends(get_runtime),
    ) -> TokenInfo:
        secret = _token_from(request, creds)
        if not secret:
            raise HTTPException(401, "missing API token", {"WWW-Authenticate": "Bearer"})
        info = _bootstrap(runtime, secret) or verify_token(runtime.db, secret)
        if info is None:
            raise HTTPException(401, "invalid or expired API token", {"WWW-Authenticate": "Bearer"})
        if not info.allows(scope):
            raise HTTPException(403, f"token lacks the '{scope}' scope")
        request.state.token = info
        return info

    check.__name__ = f"require_{scope}"
    return check


def _bootstrap(runtime: Runtime, secret: str) -> TokenInfo | None:
    boot = runtime.settings.bootstrap_token
    # bytes: compare_digest raises TypeError on non-ASCII str (a 500 for a bad header)
    if boot is not None and hmac.compare_digest(boot.get_secret_value().encode(), secret.encode()):
        return TokenInfo(0, "bootstrap", frozenset({"admin"}), None)
    return None
