"""Fixtures for the hardening checks: bounded hypothesis runs, a served app, tokens by role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from firebreak.runtime import Runtime
from firebreak.store.tokens import create_token
from spine.shared import BOOT_TOKEN, LiveServer, make_settings

# Bounded: the whole hardening set must stay well under a minute and a half.
settings.register_profile("hardening", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
ROLES = ("ingest", "read", "operate", "admin")


def role_headers(runtime: Runtime) -> dict[str, dict[str, str]]:
    """A stored token per role (admin included), as Authorization headers."""
    out = {}
    for role in ROLES:
        secret, _ = create_token(runtime.db, name=f"role-{role}", scopes=[role])
        out[role] = {"Authorization": f"Bearer {secret}"}
    return out


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[str, Runtime]]:
    """The full control-plane app on loopback (every stage), over SQLite."""
    from firebreak.api.app import create_app

    cfg = make_settings(sqlite_url)
    runtime = Runtime.open(cfg)
    with LiveServer(create_app(cfg, runtime=runtime)) as server:
        yield server.url, runtime


@pytest.fixture
def boot() -> dict[str, Any]:
    return {"Authorization": f"Bearer {BOOT_TOKEN}"}
