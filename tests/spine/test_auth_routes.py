"""Every route in create_app()'s table needs a token (401 without) of the right scope (403).

The table is walked at test time, so routes other stages add later are covered too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from firebreak.api.app import create_app
from firebreak.runtime import Runtime
from spine.conftest import token_headers
from spine.shared import make_settings

PUBLIC = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# A browser must reach the login form (and its assets) before it has a token.
BROWSER_LOGIN = {"/", "/login", "/logout", "/ui/static/{name}"}
# Links sent to people (approval e-mails): an HMAC signature in the query stands in for a
# token. Each must refuse a forged signature; the query below is one.
SIGNED = {"/v1/runs/{run_id}/steps/{step_id}/link":
          {"decision": "approve", "expires": "4102444800", "sig": "0" * 64}}
SCOPES = ("ingest", "read", "operate")  # every scope but admin, which may do everything


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _flat(routes: list[Any]) -> list[Any]:
    """Routes with included routers flattened (newer FastAPI nests them lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(routes)
    return list(iter_route_contexts(routes))


def _endpoints(routes: list[Any]) -> list[tuple[str, str, bool]]:
    """(method, concrete path, is an HTML page) for every HTTP route and mount."""
    out: list[tuple[str, str, bool]] = []
    for ctx in _flat(routes):
        original = getattr(ctx, "original_route", ctx)
        path = ctx.path or ""
        if isinstance(original, APIWebSocketRoute) or path in PUBLIC | BROWSER_LOGIN | set(SIGNED):
            continue
        if isinstance(original, Mount):
            out.append(("GET", _concrete(path) + "/x", False))
        elif isinstance(original, Route):
            html = getattr(original, "response_class", None) is HTMLResponse
            for method in sorted((ctx.methods or {"GET"}) - {"HEAD", "OPTIONS"}):
                out.append((method, _concrete(path), html))
    return out


def _refused(resp: Any, status: int, html: bool) -> bool:
    """`status`, or for a browser page: a redirect to the login form (or no such page)."""
    if resp.status_code == status:
        return True
    to_login = resp.is_redirect and resp.headers.get("location", "").startswith("/login")
    return html and (to_login or resp.status_code == 404)


@pytest.fixture
def walker(sqlite_url: str) -> Any:
    settings = make_settings(sqlite_url)
    runtime = Runtime.open(settings)
    app = create_app(settings, runtime=runtime, stages=[])
    # No lifespan: only auth runs; a route that passes auth may fail later, which is fine here.
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    tokens = {scope: token_headers(runtime, scope) for scope in SCOPES}
    yield app, client, tokens
    runtime.db.dispose()


def test_route_table_is_walked(walker: Any) -> None:
    app, _, _ = walker
    found = {path for _, path, _ in _endpoints(app.routes)}
    assert {"/v1/events", "/v1/deployments", "/v1/traces", "/v1/schema/events"} <= found
    events = next(c for c in _flat(app.routes) if c.path == "/v1/events")
    assert isinstance(getattr(events, "original_route", events), APIRoute)


def test_every_route_refuses_missing_token_and_wrong_scope(walker: Any) -> None:
    app, client, tokens = walker
    failures = []
    for method, path, html in _endpoints(app.routes):
        anonymous = client.request(method, path)
        if not _refused(anonymous, 401, html):
            failures.append(f"{method} {path}: {anonymous.status_code} without a token")
        bad = client.request(method, path, headers={"Authorization": "Bearer fbk_not_a_token"})
        if not _refused(bad, 401, html):
            failures.append(f"{method} {path}: {bad.status_code} with an unknown token")
        answers = {s: client.request(method, path, headers=h) for s, h in tokens.items()}
        if not any(_refused(r, 403, html) for r in answers.values()) or any(
                r.status_code == 401 for r in answers.values()):
            codes = {s: r.status_code for s, r in answers.items()}
            failures.append(f"{method} {path}: no scope refused with 403 ({codes})")
    assert not failures, "\n".join(failures)


def test_the_walk_catches_an_unprotected_route(walker: Any) -> None:
    app, client, _ = walker
    app.get("/v1/leak")(lambda: {"secret": 1})
    leaks = [p for m, p, html in _endpoints(app.routes)
             if not _refused(client.request(m, p), 401, html)]
    assert leaks == ["/v1/leak"]


def test_signed_links_refuse_forged_signatures(walker: Any) -> None:
    app, client, _ = walker
    paths = {c.path for c in _flat(app.routes)}
    for path, query in SIGNED.items():
        if path not in paths:
            continue
        resp = client.get(_concrete(path), params=query)
        assert 400 <= resp.status_code < 500, f"{path}: {resp.status_code} with a forged signature"
