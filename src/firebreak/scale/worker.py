"""The scaled monitor (role `worker`): partial windows in PostgreSQL, one elected closer.

Every worker consumes the shared durable JetStream consumer "monitor", so each event goes
to one worker. A worker folds a batch's *new* events (ids not yet in scale_seen_events)
into partial windows and stores them in the same commit as the ids, then acks: a crash
before the commit redelivers the batch, a crash after it finds the ids seen, so every
event counts exactly once.

One worker at a time is the closer: it holds a PostgreSQL session advisory lock, which
the server releases when its connection dies, so another worker takes over on its next
tick. The closer closes a window once its end + grace has passed *and* the consumer's ack
floor reached the stream's last sequence as it was when the window became due (nothing
accepted before then is still in flight); it merges the window's partials (exact: profiles
merge) and hands the merged window to the embedded monitor's close path (detectors,
signals, stored profile), so the scaled and embedded topologies share the detection code.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select, text, tuple_

from firebreak import bus as topics
from firebreak import metrics
from firebreak.monitor.base import DeploymentMemory
from firebreak.monitor.stage import MonitorStage
from firebreak.monitor.window import Window, window_bounds
from firebreak.scale.bus import consumer_caught_up_to
from firebreak.store import scale as store
from firebreak.store.monitor import ProfileRow

log = structlog.get_logger(__name__)
CONSUMER = "monitor"


class ScaledMonitorStage:
    """See module docstring."""

    name = "monitor"

    def __init__(self, runtime: Any, monitor: MonitorStage | None = None) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.monitor = monitor or MonitorStage(runtime)
        self.memory: dict[str, DeploymentMemory] = defaultdict(DeploymentMemory)
        self.lock_key = zlib.crc32(f"firebreak.closer:{runtime.settings.bus.prefix}".encode())
        self.leader = False
        self._lock_conn: Any = None
        self._barriers: dict[tuple[str, datetime], int] = {}
        self._timer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.runtime.bus.subscribe(topics.EVENTS, self.handle, name=CONSUMER)
        self._timer = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await asyncio.to_thread(self._resign)

    async def handle(self, events: list[Any]) -> None:
        """Fold a batch into partial windows; returns after the commit (then the bus acks)."""
        await asyncio.to_thread(self.fold, events)

    def fold(self, events: list[Any]) -> int:
        """Store the new events' partial windows and ids in one commit; how many were new."""
        size = self.monitor.size
        with self.db.write() as s:
            new = store.claim_new(s, [e.event_id for e in events])
            groups: dict[tuple[str, datetime, datetime], list[Any]] = defaultdict(list)
            for e in events:
                if e.event_id in new:
                    groups[(e.deployment, *window_bounds(e.ts, size))].append(e)
            closed = closed_windows(s, {(dep, start) for dep, start, _ in groups})
            for (dep, start, end), group in groups.items():
                if (dep, start) in closed:
                    metrics.monitor_events.labels(result="late").inc(len(group))
                    continue
                window = Window.zero(dep, start, end, self.monitor.kinds)
                window.update(group, self.memory[dep])
                s.add(store.PartialRow(deployment=dep, window_start=start, window_end=end,
                                       events=window.events, body=window.to_bytes()))
                metrics.monitor_events.labels(result="folded").inc(len(group))
        return len(new)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.monitor.settings.tick_seconds)
            try:
                await self.close_due()
            except Exception:  # the closer must survive one bad window
                log.exception("scale.close_failed")

    async def close_due(self, now: datetime | None = None) -> int:
        """If this worker is (or becomes) the closer, close every window that is due."""
        was = self.leader
        self.leader = await asyncio.to_thread(self._lead)
        if not self.leader:
            return 0
        if not was:
            log.info("scale.closer_elected", lock=self.lock_key)
            self.monitor.deployments.clear()  # history and firing state: reload from store
            self._barriers.clear()
        now = now or datetime.now(UTC)
        with self.db.session() as s:
            due = store.due_windows(s, now - self.monitor.grace)
        if not due:
            return 0
        lag = await consumer_caught_up_to(self.runtime.bus, topics.EVENTS, CONSUMER)
        closed = 0
        blocked: set[str] = set()
        for dep, start, end in due:
            if lag is not None and self._barriers.setdefault((dep, start), lag[0]) > lag[1]:
                blocked.add(dep)  # events up to the barrier are still in flight
                continue
            if dep in blocked:
                continue  # keep each deployment's windows closing in order
            await self._close_one(dep, start, end)
            closed += 1
        return closed

    async def _close_one(self, dep: str, start: datetime, end: datetime) -> None:
        def load() -> list[bytes] | None:
            with self.db.write() as s:
                if store.closed_starts(s, dep, [start]):  # closed by a closer that died
                    store.drop_partials(s, dep, start)
                    return None
                return store.partial_bodies(s, dep, start)

        bodies = await asyncio.to_thread(load)
        self._barriers.pop((dep, start), None)
        if bodies is None:
            return
        window = Window.zero(dep, start, end, self.monitor.kinds)
        for body in bodies:
            window = window.merge(Window.from_bytes(body, self.monitor.registry))
        state = self.monitor.deployments[dep]
        async with self.monitor._lock:  # noqa: SLF001 - the embedded close path, reused
            state.closed_until = max(state.closed_until or end, end)
            await self.monitor._close(dep, state, window)  # noqa: SLF001
        await asyncio.to_thread(self._drop, dep, start)

    def _drop(self, dep: str, start: datetime) -> None:
        with self.db.write() as s:
            store.drop_partials(s, dep, start)

    def _lead(self) -> bool:
        """Hold (or try to take) the closer's advisory lock; SQLite has one process."""
        if self.db.is_sqlite:
            return True
        if self._lock_conn is not None:
            try:
                self._lock_conn.execute(text("SELECT 1"))
                self._lock_conn.commit()
                return True
            except Exception:  # the connection (and with it the lock) is gone
                self._resign()
        conn = self.db.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_key}).scalar()
        conn.commit()  # a session lock outlives the transaction
        if got:
            self._lock_conn = conn
            return True
        conn.close()
        return False

    def _resign(self) -> None:
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._lock_conn.invalidate()  # drop the connection: the server frees the lock
            self._lock_conn = None
        self.leader = False


def closed_windows(session: Any, windows: set[tuple[str, datetime]]
                   ) -> set[tuple[str, datetime]]:
    """Which (deployment, window start) pairs already have a closed profile: one query
    for a whole batch, whatever the number of deployments in it."""
    if not windows:
        return set()
    rows = session.execute(select(ProfileRow.deployment, ProfileRow.window_start).where(
        tuple_(ProfileRow.deployment, ProfileRow.window_start).in_(sorted(windows))))
    return {(d, _utc(ts)) for d, ts in rows}


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def create(runtime: Any) -> ScaledMonitorStage:
    """Stage factory (role `worker`, see firebreak.scale.roles)."""
    return ScaledMonitorStage(runtime)
