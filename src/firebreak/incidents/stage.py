"""The incidents stage: signals and external alerts in, incidents and notifications out.

Subscribes to bus.SIGNALS (firebreak.signals.Signal) and bus.EVENTS (kind "alert"), runs
the pipeline off the event loop, publishes {"incident_id", "change"} on bus.INCIDENTS
after each committed change, ticks the scheduler, and runs the notification deliverer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select

from firebreak import bus, metrics
from firebreak.events import ExternalAlert
from firebreak.incidents.delivery import Deliverer, utcnow
from firebreak.incidents.observations import Observation, from_external, from_signal
from firebreak.incidents.pipeline import Change, Pipeline
from firebreak.incidents.scheduler import Scheduler
from firebreak.runtime import Runtime
from firebreak.signals import Signal
from firebreak.store.incidents import IncidentRow

log = structlog.get_logger(__name__)


class IncidentsStage:
    """Runs alerting, correlation and notification inside the runtime."""

    name = "incidents"

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None,
                 poll_seconds: float = 0.5) -> None:
        self.runtime = runtime
        self.clock = clock or runtime.extras.get("clock") or utcnow
        settings = runtime.settings
        self.pipeline = Pipeline(runtime.db, settings.incidents, self.clock)
        self.scheduler = Scheduler(runtime.db, settings.incidents, settings.notifiers,
                                   self.pipeline, self.clock)
        self.deliverer = Deliverer(runtime.db, settings.notifiers, clock=self.clock,
                                   poll_seconds=poll_seconds, public_url=settings.api.public_url)
        self._lock = asyncio.Lock()  # pipeline and scheduler never run at the same time
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.runtime.bus.subscribe(bus.SIGNALS, self.on_signals, name="incidents.signals")
        self.runtime.bus.subscribe(bus.EVENTS, self.on_events, name="incidents.alerts")
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
        self.deliverer.start()

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.deliverer.stop()

    async def on_signals(self, batch: Sequence[Any]) -> None:
        for item in batch:
            try:
                sig = item if isinstance(item, Signal) else Signal.model_validate(item)
            except ValueError as exc:  # one bad item never spoils the batch
                log.warning("incidents.bad_signal", error=str(exc)[:300])
                continue
            await self.handle(from_signal(sig))

    async def on_events(self, batch: Sequence[Any]) -> None:
        for event in batch:
            if isinstance(event, ExternalAlert):
                await self.handle(from_external(event))

    async def handle(self, obs: Observation) -> list[Change]:
        """Run one observation through the pipeline and publish what changed."""
        async with self._lock:
            try:
                changes = await asyncio.to_thread(self.pipeline.observe, obs)
            except Exception:
                log.exception("incidents.observe_failed", fingerprint=obs.fingerprint)
                return []
        await self.runtime.bus.publish(bus.INCIDENTS, changes)
        return changes

    async def tick(self) -> int:
        """One scheduler pass (tests call it directly); returns notifications queued."""
        async with self._lock:
            changes, queued = await asyncio.to_thread(self.scheduler.tick)
        await self.runtime.bus.publish(bus.INCIDENTS, changes)
        if queued:
            self.deliverer.wake()
        return queued

    async def _tick_forever(self) -> None:
        every = self.runtime.settings.incidents.tick_seconds
        while True:
            try:
                await self.tick()
                await asyncio.to_thread(self._count_open)
            except Exception:
                log.exception("incidents.tick_failed")
            await asyncio.sleep(every)

    def _count_open(self) -> None:
        q = (select(IncidentRow.severity, func.count()).where(
            IncidentRow.status.in_(("detected", "triaged", "contained")))
            .group_by(IncidentRow.severity))
        with self.runtime.db.session() as session:
            counts = dict(session.execute(q).tuples().all())
        for sev in ("SEV1", "SEV2", "SEV3", "SEV4"):
            metrics.incidents_open.labels(sev).set(counts.get(sev, 0))


def create(runtime: Runtime) -> IncidentsStage:
    """Stage factory for runtime.STAGES."""
    return IncidentsStage(runtime)
