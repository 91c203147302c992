"""Access: the scope matrix over every route and role, the audit log, token rotation and
expiry, and the browser defences (headers, CSRF, cookies).

tests/spine checks that every route refuses a missing token (401) and some scope (403);
here each route's required scope is read from its `require(...)` dependency, checked
against the written policy, and every role is tried against it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from firebreak.api.app import create_app
from firebreak.api.audit import required_scope
from firebreak.runtime import Runtime
from firebreak.store.audit import list_audit
from firebreak.store.rotation import rotate_token
from firebreak.store.tokens import TokenInfo, create_token, verify_token
from hardening.conftest import ROLES, role_headers
from spine.shared import make_settings

INGEST_POSTS = re.compile(r"^/v1/(events|traces|intake)")


def _routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, concrete path, required scope) for every token-protected HTTP route."""
    try:
        from fastapi.routing import iter_route_contexts
        contexts = list(iter_route_contexts(app.routes))
    except ImportError:
        contexts = list(app.routes)
    out = []
    for ctx in contexts:
        route = getattr(ctx, "original_route", ctx)
        needed = required_scope(route) or required_scope(ctx)
        if needed is None:
            continue
        for method in sorted((getattr(ctx, "methods", None) or {"GET"}) - {"HEAD", "OPTIONS"}):
            out.append((method, re.sub(r"\{[^}]+\}", "1", ctx.path), needed))
    return out


def expected_scope(method: str, path: str) -> set[str]:
    """The written policy: reads need read, telemetry needs ingest, changes need operate+."""
    if method == "GET":
        return {"admin"} if path.startswith("/v1/audit") else {"read"}
    if INGEST_POSTS.match(path):
        return {"ingest"}
    return {"operate", "admin"}


@pytest.fixture
def matrix(sqlite_url: str) -> Any:
    cfg = make_settings(sqlite_url, api={"rate_limit_per_second": 0})
    runtime = Runtime.open(cfg)
    app = create_app(cfg, runtime=runtime, stages=[])
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    yield app, client, role_headers(runtime), runtime
    runtime.db.dispose()


def test_every_route_requires_the_scope_the_policy_names(matrix: Any) -> None:
    app, _, _, _ = matrix
    routes = _routes(app)
    assert len(routes) > 25 and ("GET", "/v1/audit", "admin") in routes
    wrong = [f"{m} {p}: requires {s}, policy says {expected_scope(m, p)}"
             for m, p, s in routes if s not in expected_scope(m, p)]
    assert not wrong, "\n".join(wrong)


def test_every_role_against_every_route(matrix: Any) -> None:
    app, client, headers, _ = matrix
    failures = []
    for method, path, needed in _routes(app):
        for role in ROLES:
            allowed = TokenInfo(0, role, frozenset({role}), None).allows(needed)
            code = client.request(method, path, headers=headers[role]).status_code
            if allowed and code in (401, 403) or not allowed and code != 403:
                failures.append(f"{role} {method} {path} (needs {needed}): {code}")
    assert not failures, "\n".join(failures)


def test_operate_and_admin_calls_are_audited_and_the_log_is_admin_only(matrix: Any) -> None:
    _, client, headers, runtime = matrix
    client.post("/v1/silences", headers={**headers["operate"], "X-Request-ID": "audit-1"},
                json={"matchers": [{"name": "deployment", "value": "bot"}],
                      "duration_seconds": 60})
    client.post("/v1/silences", headers=headers["read"], json={})  # refused: recorded too
    client.get("/v1/incidents", headers=headers["operate"])  # a read: not audited
    entries = list_audit(runtime.db)
    assert [(e["token_name"], e["method"], e["path"], e["status"]) for e in entries[:2]] == [
        ("role-read", "POST", "/v1/silences", 403), ("role-operate", "POST", "/v1/silences", 201)]
    assert entries[1]["request_id"] == "audit-1" and entries[1]["client"]
    assert all(e["method"] != "GET" for e in entries)
    assert client.get("/v1/audit", headers=headers["operate"]).status_code == 403
    body = client.get("/v1/audit?limit=1", headers=headers["admin"]).json()
    assert len(body["entries"]) == 1 and body["next_before_id"] == entries[0]["id"]
    bad = client.get("/v1/audit?limit=0", headers=headers["admin"]).json()
    assert bad["errors"][0]["field"] == "limit"


def test_the_audit_log_refuses_updates_and_deletes(matrix: Any) -> None:
    from sqlalchemy import text

    _, client, headers, runtime = matrix
    client.post("/v1/silences", headers=headers["operate"], json={})
    assert list_audit(runtime.db)
    for sql in ("UPDATE audit_log SET status = 200", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), runtime.db.write() as session:
            session.execute(text(sql))


def test_rotation_keeps_the_old_token_for_the_grace_only(matrix: Any) -> None:
    _, _, _, runtime = matrix
    old_secret, old = create_token(runtime.db, name="ci", scopes=["read"])
    new_secret, new = rotate_token(runtime.db, old.id, grace=timedelta(minutes=5))
    assert new.name == "ci" and new.scopes == old.scopes and new.id != old.id
    assert verify_token(runtime.db, new_secret) is not None
    still = verify_token(runtime.db, old_secret)
    assert still is not None and still.expires_at is not None
    _, _ = rotate_token(runtime.db, new.id, grace=timedelta(0))
    assert verify_token(runtime.db, new_secret) is None


def test_expired_tokens_are_refused(matrix: Any) -> None:
    _, client, _, runtime = matrix
    secret, _ = create_token(runtime.db, name="short", scopes=["read"], ttl=timedelta(seconds=-1))
    resp = client.get("/v1/incidents", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 401 and "expired" in resp.json()["detail"]


def test_token_rotate_command(sqlite_url: str, tmp_path: Any) -> None:
    from firebreak.store import open_database

    db = open_database(sqlite_url)
    _, info = create_token(db, name="ops", scopes=["operate"])
    env = {"FIREBREAK_DATABASE_URL": sqlite_url, "PATH": "/usr/bin:/bin"}
    cli = str(Path(sys.executable).parent / "firebreak")
    done = subprocess.run([cli, "token", "rotate", str(info.id), "--grace-minutes", "0"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip().splitlines()[-1]
    assert secret.startswith("fbk_") and verify_token(db, secret) is not None
    bad = subprocess.run([cli, "token", "rotate", "999"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "999" in bad.stderr
    db.dispose()


def test_security_headers_on_pages_and_api(matrix: Any) -> None:
    _, client, headers, _ = matrix
    for path in ("/login", "/v1/incidents", "/healthz"):
        resp = client.get(path, headers=headers["read"])
        csp = resp.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
    page = client.get("/login").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script on /login"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler on /login"


def test_csrf_cross_site_posts_with_the_cookie_are_refused(matrix: Any) -> None:
    _, client, _, _ = matrix
    host = "testserver"
    cookie = {"Cookie": "firebreak_token=fbk_test_bootstrap_admin_token"}
    for extra in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"},
                  {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        resp = client.post("/v1/silences", headers={**cookie, **extra}, json={})
        assert resp.status_code == 403 and resp.json()["errors"][0]["field"] == "origin"
    same = client.post("/v1/silences", headers={**cookie, "Origin": f"http://{host}"}, json={})
    assert same.status_code == 422  # past the CSRF check, refused for its body
    login = client.post("/login", headers={"Origin": "https://evil.example"},
                        content="token=x&next=/ui")
    assert login.status_code == 403


def test_secure_cookie_when_configured(sqlite_url: str) -> None:
    cfg = make_settings(sqlite_url, api={"cookie_secure": True})
    runtime = Runtime.open(cfg)
    client = TestClient(create_app(cfg, runtime=runtime, stages=[]), follow_redirects=False)
    resp = client.post("/login", content="token=fbk_test_bootstrap_admin_token&next=/ui",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = resp.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    runtime.db.dispose()


def test_rate_limit_per_token_and_body_cap(sqlite_url: str) -> None:
    cfg = make_settings(sqlite_url, api={"rate_limit_per_second": 1, "rate_limit_burst": 5,
                                         "max_body_bytes": 4096})
    runtime = Runtime.open(cfg)
    client = TestClient(create_app(cfg, runtime=runtime, stages=[]))
    heads = role_headers(runtime)
    codes = [client.get("/v1/incidents", headers=heads["read"]).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and codes[-1] == 429
    limited = client.get("/v1/incidents", headers=heads["read"])
    assert int(limited.headers["retry-after"]) >= 1 and limited.json()["errors"][0]["field"]
    assert client.get("/v1/incidents", headers=heads["operate"]).status_code == 200  # own bucket
    events = [client.post("/v1/events", headers=heads["ingest"], json=[]).status_code
              for _ in range(8)]
    assert 429 not in events  # telemetry is bounded by size, not rate
    big = client.post("/v1/events", headers=heads["ingest"], content=b"[" + b" " * 5000 + b"]")
    assert big.status_code == 413 and big.json()["errors"][0]["field"] == "body"
    runtime.db.dispose()


def test_live_server_chunked_body_over_the_cap(sqlite_url: str) -> None:
    from spine.shared import LiveServer

    cfg = make_settings(sqlite_url, api={"max_body_bytes": 10_000})
    runtime = Runtime.open(cfg)
    with LiveServer(create_app(cfg, runtime=runtime, stages=[])) as server:
        def chunks() -> Any:
            for _ in range(50):
                yield b" " * 1000
        resp = httpx.patch(server.url + "/v1/policy/support-bot", content=chunks(),
                          headers={"Authorization": "Bearer fbk_test_bootstrap_admin_token",
                                   "Content-Type": "application/json"}, timeout=30)
    assert resp.status_code == 413


def test_non_ascii_credentials_are_refused_not_crashed(matrix: Any) -> None:
    _, client, _, _ = matrix
    for raw in ("Bearer fbk_\xe9t\xe9", "Bearer \xff" * 3):
        resp = client.get("/v1/incidents", headers={"Authorization": raw.encode("latin-1")})
        assert resp.status_code == 401, resp.text
    link = client.get("/v1/runs/1/steps/1/link", params={
        "decision": "approve", "expires": "4102444800", "sig": "\xe9" * 64})
    assert link.status_code in (403, 404, 422), link.text
