"""The playbooks stage: the engine inside the runtime, fed by the incidents topic.

Messages on bus.INCIDENTS are {"incident_id", "change"} with change one of opened,
severity, category (re-classified), status, resolved, reopened. On start the stage resumes
unfinished runs and starts runs for open incidents that have none (messages published while
it was down).
"""

from __future__ import annotations

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
        runtime.extras["playbook_engine"] = self.engine
        runtime.bus.subscribe(bus.INCIDENTS, self.handle, name="playbooks")

    async def handle(self, batch: list[Any]) -> None:
        for message in batch:
            try:
                await self.engine.on_change(str(message["incident_id"]), str(message["change"]))
            except Exception:  # one bad message never stops the others
                log.exception("playbook.message_failed", message=message)

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()


def create(runtime: Runtime) -> PlaybookStage:
    """Factory listed in runtime.STAGES."""
    return PlaybookStage(runtime)
