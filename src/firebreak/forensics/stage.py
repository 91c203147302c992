"""The forensics stage: write the report when an incident becomes contained, and again
when it is resolved (subscribes to bus.INCIDENTS, reads the status from the store); seal
each closed minute of events for snapshots to cite (firebreak.forensics.seal)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

import firebreak.forensics.service  # noqa: F401  (loaded now, not by the first snapshot)
from firebreak import bus, metrics
from firebreak.errors import FirebreakError
from firebreak.forensics import keys, seal, worker
from firebreak.runtime import Runtime
from firebreak.store.incidents import get_incident

log = structlog.get_logger(__name__)
REPORT_ON = ("contained", "resolved")
SEAL_EVERY = 10.0  # seconds: a snapshot reads at most about this much more than a minute


class ForensicsStage:
    """Writes each incident's report once per reporting status."""

    name = "forensics"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.done: set[tuple[str, str]] = set()
        self.written: list[tuple[str, str, dict[str, str]]] = []  # (incident, status, paths)
        self._sealer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.runtime.bus.subscribe(bus.INCIDENTS, self.handle, name="forensics")
        worker.warm_up(self.runtime.db, self.runtime.settings)
        # The first snapshot is what a playbook's containment waits for: have the signing
        # key made (or read) now rather than then.
        await asyncio.to_thread(keys.signing_key, self.runtime.settings)
        if self.runtime.settings.forensics.seal_keep_seconds:
            self._sealer = asyncio.create_task(self._seal_loop(), name="forensics-seal")

    async def stop(self) -> None:
        if self._sealer is not None:
            self._sealer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sealer

    async def _seal_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(seal.seal_due, self.runtime.db, self.runtime.settings)
            except Exception as exc:  # a full disk must not stop the next try
                log.warning("forensics.seal_failed", error=str(exc))
            await asyncio.sleep(SEAL_EVERY)

    async def handle(self, items: list[Any]) -> None:
        if not self.runtime.settings.forensics.auto_report:
            return
        for item in items:
            incident_id = item.get("incident_id") if isinstance(item, dict) else None
            if incident_id:
                await self._maybe_report(str(incident_id))

    async def _maybe_report(self, incident_id: str) -> None:
        db, settings = self.runtime.db, self.runtime.settings
        try:
            status = (await asyncio.to_thread(get_incident, db, incident_id)).status
            if status not in REPORT_ON or (incident_id, status) in self.done:
                return
            self.done.add((incident_id, status))
            paths = await asyncio.to_thread(
                worker.write_report, db, incident_id=incident_id, settings=settings
            )
            self.written.append((incident_id, status, paths))
            metrics.forensics_reports.labels(trigger=status).inc()
            log.info("forensics.report_written", incident_id=incident_id, status=status)
        except FirebreakError as exc:
            log.warning("forensics.report_failed", incident_id=incident_id, error=exc.message)


def create(runtime: Runtime) -> ForensicsStage:
    """Stage factory listed in runtime.STAGES."""
    return ForensicsStage(runtime)
