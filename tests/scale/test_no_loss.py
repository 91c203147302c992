"""A worker killed with SIGKILL mid-stream and a NATS restart: no acknowledged event is
lost and none is counted twice (real subprocesses, our own nats-server)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from firebreak.bus import EVENTS
from firebreak.events import LLMCall
from firebreak.jetstream import JetStreamBus
from firebreak.monitor.window import window_bounds
from firebreak.store import Database
from firebreak.store.monitor import ProfileRow
from firebreak.store.scale import PartialRow, SeenEventRow

from .scaletools import BOOT_TOKEN, OwnNats, write_config

BATCHES, PER_BATCH = 30, 40


async def _publish(bus: JetStreamBus, events: list[LLMCall]) -> None:
    """Publish until JetStream acked (the client's retry loop while NATS restarts)."""
    for _ in range(200):
        try:
            await asyncio.wait_for(bus.publish(EVENTS, events), 2)
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError("JetStream never acknowledged the batch")


def _settle(db: Database, want: int, timeout: float) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as s:
            profiled = s.scalar(select(func.coalesce(func.sum(ProfileRow.events), 0)))
            partials = s.scalar(select(func.count()).select_from(PartialRow))
            seen = s.scalar(select(func.count()).select_from(SeenEventRow))
        if (profiled == want and partials == 0) or time.monotonic() > deadline:
            return int(profiled or 0), int(partials or 0), int(seen or 0)
        time.sleep(0.3)


@pytest.mark.slow
async def test_sigkill_worker_then_nats_restart(pg_url: str, own_nats: OwnNats, roles: Any,
                                                tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "firebreak.yaml", database_url=pg_url, bootstrap_token=BOOT_TOKEN,
        log_level="warning",
        bus={"kind": "jetstream", "url": own_nats.url, "prefix": "fbk", "ack_wait": 2},
        plugins={"monitor": {"window_seconds": 1, "grace_seconds": 4, "tick_seconds": 0.3}})
    doomed, survivor = roles(config, "worker"), roles(config, "worker")
    doomed.ready(), survivor.ready()
    bus = JetStreamBus(url=own_nats.url, prefix="fbk")
    acked: dict[str, datetime] = {}
    for b in range(BATCHES):
        now = datetime.now(UTC)
        batch = [LLMCall(event_id=f"b{b}-{i}", deployment="shop.bot", ts=now, response="ok")
                 for i in range(PER_BATCH)]
        await _publish(bus, batch)
        acked.update((e.event_id, e.ts) for e in batch)
        if b == 8:
            doomed.kill()  # mid-stream: it holds fetched, unacked batches
        if b == 15:
            own_nats.stop()
            own_nats.start()
        if b == 20:
            await _publish(bus, batch)  # a client retry of an acked batch
        await asyncio.sleep(0.1)
    await bus.close()
    db = Database(pg_url)
    profiled, partials, seen = await asyncio.to_thread(_settle, db, len(acked), 30)
    assert (profiled, partials, seen) == (len(acked), 0, len(acked))
    want = Counter(window_bounds(ts, _second())[0] for ts in acked.values())
    with db.session() as s:
        got = {r.window_start: r.events for r in s.scalars(select(ProfileRow))}
    assert {k: got.get(k) for k in want} == dict(want)
    assert len(got) == len(want)  # one profile per window: no window closed twice
    db.dispose()


def _second() -> Any:
    from datetime import timedelta

    return timedelta(seconds=1)
