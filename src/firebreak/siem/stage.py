"""The SIEM stage: wakes on every bus.INCIDENTS message (and every `sweep_seconds`),
then sends what is new to the configured sinks, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from firebreak import bus
from firebreak.runtime import Runtime
from firebreak.siem.exporter import Exporter
from firebreak.siem.sinks import build_sinks

log = structlog.get_logger(__name__)


class SiemStage:
    """Exports incidents, alerts and actions to a SIEM while the runtime runs."""

    name = "siem"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.siem
        self.exporter: Exporter | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sinks = build_sinks(self.settings) if self.settings.enabled else []
        if not sinks:
            return
        state = self.runtime.settings.data_dir / "siem-cursors.json"
        self.exporter = await asyncio.to_thread(Exporter, self.runtime.db, sinks, state)
        self.runtime.bus.subscribe(bus.INCIDENTS, self._on_incidents, name="siem")
        self._task = asyncio.get_running_loop().create_task(self._loop())
        log.info("siem.started", sinks=[s.name for s in sinks])

    def _on_incidents(self, _changes: list[Any]) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        assert self.exporter is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.sweep_seconds)
            self._wake.clear()
            try:
                await asyncio.to_thread(self.exporter.sweep)
            except Exception:  # a broken sweep must not end the stage
                log.exception("siem.sweep_failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.exporter is not None:
            await asyncio.to_thread(self.exporter.sweep)  # flush what happened last
            for sink in self.exporter.sinks:
                sink.close()


def create(runtime: Runtime) -> SiemStage:
    """Stage factory listed in runtime.STAGES."""
    return SiemStage(runtime)
