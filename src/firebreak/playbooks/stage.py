"""The playbooks stage: the engine inside the runtime, fed by the incidents topic.

Messages on bus.INCIDENTS are {"incident_id", "change"} with change one of opened,
severity, category (re-classified), status, resolved, reopened. On start the engine resumes
unfinished runs and catches up from the store with what changed while it was down (see
Engine.start).

Each incident's messages go on its own lane, handled in order; different incidents' lanes run
at once, so starting one incident's playbooks never holds up another's containment. The
handler returns once a message is on its lane; what a crash loses from a lane the engine's
start recovers from the store (see Engine.start).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from firebreak import bus
from firebreak.playbooks.engine import Engine
from firebreak.playbooks.loader import load_configured
from firebreak.runtime import Runtime

log = structlog.get_logger(__name__)


class PlaybookStage:
    """Subscribes the engine to incident changes."""

    name = "playbooks"

    def __init__(self, runtime: Runtime) -> None:
        playbooks, errors = load_configured(runtime.settings)
        for error in errors:
            log.error("playbook.invalid", error=str(error))
        self.engine = Engine(runtime.db, runtime.settings, playbooks)
        self.lanes: dict[str, asyncio.Task[None]] = {}  # incident id -> its last message
        runtime.extras["playbook_engine"] = self.engine
        runtime.bus.subscribe(bus.INCIDENTS, self.handle, name="playbooks")

    async def handle(self, batch: list[Any]) -> None:
        for message in batch:
            try:
                incident_id, change = str(message["incident_id"]), str(message["change"])
            except (KeyError, TypeError):
                log.error("playbook.message_invalid", message=message)
                continue
            lane = asyncio.create_task(self._after(self.lanes.get(incident_id), incident_id,
                                                   change))
            self.lanes[incident_id] = lane
            lane.add_done_callback(lambda done, key=incident_id: self._close_lane(key, done))

    async def _after(self, before: asyncio.Task[None] | None, incident_id: str,
                     change: str) -> None:
        if before is not None:
            await asyncio.wait({before})
        try:
            await self.engine.on_change(incident_id, change)
        except Exception:  # one bad message never stops the others
            log.exception("playbook.message_failed", incident_id=incident_id, change=change)

    def _close_lane(self, incident_id: str, done: asyncio.Task[None]) -> None:
        if self.lanes.get(incident_id) is done:
            del self.lanes[incident_id]

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await asyncio.gather(*self.lanes.values(), return_exceptions=True)
        await self.engine.stop()


def create(runtime: Runtime) -> PlaybookStage:
    """Factory listed in runtime.STAGES."""
    return PlaybookStage(runtime)
