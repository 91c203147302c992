"""The scaled topology as separate processes (API replicas, workers, engines on NATS
JetStream and PostgreSQL) takes a replayed event stream; its profiles, signals and
incidents equal those of the embedded default on the same stream."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conftest import make_settings
from firebreak.ingest.service import ingest_and_publish
from firebreak.runtime import Runtime
from firebreak.store import Database
from firebreak.store.alerting import SignalRow
from firebreak.store.incidents import IncidentRow
from firebreak.store.monitor import ProfileRow

from .scaletools import BOOT_TOKEN, aligned_now, auth, replay_stream, write_config

# Scaled down from the 2 API / 3 workers / 2 engines / 2 gateways: this 2-core
# machine (shared) cannot start more Python processes within the test's time. Gateways
# do not take part in detection; their shared limits are tested in test_shared_limits.py.
APIS, WORKERS, ENGINES = 2, 2, 1
MONITOR = {"window_seconds": 1, "grace_seconds": 8, "tick_seconds": 0.3}
ERRORS = [1, 1, 1, 1, 30, 30]  # error_rate fires on the last two windows


def outcome(db: Database) -> dict[str, Any]:
    """What the loop produced, without ids and wall-clock stamps."""
    with db.session() as s:
        profiles = [(r.window_start.timestamp(), r.events) for r in s.scalars(
            select(ProfileRow).order_by(ProfileRow.window_start))]
        signals = sorted((r.detector, r.status, r.metric, r.fingerprint, round(r.value, 9),
                          r.ts.timestamp()) for r in s.scalars(select(SignalRow)))
        incidents = sorted((r.category, r.severity, r.title)
                           for r in s.scalars(select(IncidentRow)))
    return {"profiles": profiles, "signals": signals, "incidents": incidents}


async def embedded(url: str, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    rt = Runtime.open(make_settings(url, plugins={"monitor": MONITOR},
                                    playbooks={"dry_run": True}))
    await rt.start()
    for batch in batches:
        await ingest_and_publish(rt, batch)
    await rt.bus.drain()
    monitor = next(s for s in rt.stages if s.name == "monitor")
    await monitor.flush(None)  # type: ignore[attr-defined]
    await rt.bus.drain()
    result = outcome(rt.db)
    await rt.stop()
    return result


async def _settled(db: Database, want: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    got = outcome(db)
    while got != want and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        got = outcome(db)
    return got


@pytest.mark.slow
async def test_scaled_topology_equals_embedded(pg_url: str, prefix: str, shared_nats: str,
                                               roles: Any, sqlite_url: str,
                                               tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "firebreak.yaml", database_url=pg_url, bootstrap_token=BOOT_TOKEN,
        log_level="warning", plugins={"monitor": MONITOR}, playbooks={"dry_run": True},
        bus={"kind": "jetstream", "url": shared_nats, "prefix": prefix, "ack_wait": 5})
    procs = ([roles(config, "api") for _ in range(APIS)]
             + [roles(config, "worker") for _ in range(WORKERS)]
             + [roles(config, "engine") for _ in range(ENGINES)])
    for p in procs:
        p.ready()
    apis = procs[:APIS]
    # Event times end now and windows close `grace` seconds after their end, so nothing
    # closes before the whole stream is in, on either topology.
    batches = replay_stream("shop.bot", aligned_now() - timedelta(seconds=6), 6, 60, ERRORS)
    async with httpx.AsyncClient(timeout=30, headers=auth()) as http:
        for i, batch in enumerate(batches):  # round robin over the API replicas
            r = await http.post(f"{apis[i % APIS].url}/v1/events", json=batch)
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == len(batch)
    want = await embedded(sqlite_url, batches)
    assert len(want["signals"]) == 2 and len(want["incidents"]) == 1
    db = Database(pg_url)
    got = await _settled(db, want, 40)
    db.dispose()
    assert got == want
