"""Roles and Bus choice from settings (no services needed)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import make_settings
from firebreak.bus import InProcessBus
from firebreak.cli import app
from firebreak.jetstream import JetStreamBus
from firebreak.runtime import STAGES, Runtime
from firebreak.scale.roles import role_stages


def test_each_role_runs_its_stages() -> None:
    assert role_stages("all") is None
    assert role_stages("api") == []
    assert role_stages("engine") == ["firebreak.playbooks.stage:create"]
    worker = role_stages("worker")
    assert worker is not None and worker[0] == "firebreak.scale.worker:create"
    assert "firebreak.monitor.stage:create" not in worker
    assert "firebreak.playbooks.stage:create" not in worker
    assert set(worker) | {"firebreak.monitor.stage:create",
                          "firebreak.playbooks.stage:create"} >= set(STAGES)
    with pytest.raises(ValueError, match="role must be one of"):
        role_stages("gateway")


def test_runtime_picks_the_bus_from_settings(sqlite_url: str) -> None:
    rt = Runtime.open(make_settings(sqlite_url))
    assert isinstance(rt.bus, InProcessBus)
    rt.db.dispose()
    rt = Runtime.open(make_settings(sqlite_url, bus={
        "kind": "jetstream", "url": "nats://127.0.0.1:4999", "prefix": "p", "ack_wait": 7}))
    assert isinstance(rt.bus, JetStreamBus)
    assert (rt.bus.url, rt.bus.prefix, rt.bus.ack_wait) == ("nats://127.0.0.1:4999", "p", 7)
    rt.db.dispose()


def test_unknown_role_is_a_clear_error() -> None:
    from firebreak.config import get_settings

    try:  # refused before logging is configured, so no handle to the runner's output stays
        result = CliRunner().invoke(app, ["serve", "--role", "gateway"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "--role: must be one of all, api, worker, engine" in result.output
