"""The embedded runtime: one process holding the store, the bus and every stage of the loop.

Each stage is a factory `(runtime) -> Stage` listed in STAGES by import path; a stage
subscribes to the bus or runs a background task, and is started and stopped with the
server. Stages reach each other only through the store and the bus.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from firebreak.bus import InProcessBus
from firebreak.config import Settings
from firebreak.store import Database, open_database

log = structlog.get_logger(__name__)


class Stage(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


# "module:factory" paths, started in this order and stopped in reverse.
STAGES: list[str] = [
    "firebreak.monitor.stage:create",
    "firebreak.incidents.stage:create",
    "firebreak.forensics.stage:create",
    "firebreak.playbooks.stage:create",
    "firebreak.siem.stage:create",
]


@dataclass
class Runtime:
    """Everything a running Firebreak process shares."""

    settings: Settings
    db: Database
    bus: InProcessBus = field(default_factory=InProcessBus)  # or JetStreamBus (scaled)
    stages: list[Stage] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        # The Bus comes from settings.bus: in-process (default) or JetStream (firebreak.scale).
        from firebreak.scale.bus import open_bus

        return cls(settings=settings, db=open_database(settings.database_url),
                   bus=open_bus(settings))

    async def start(self, stage_paths: list[str] | None = None) -> None:
        for path in STAGES if stage_paths is None else stage_paths:
            module, _, attr = path.partition(":")
            factory = getattr(importlib.import_module(module), attr)
            stage = factory(self)
            self.stages.append(stage)
        await self.bus.start()
        for stage in self.stages:
            await stage.start()
            log.info("stage.started", stage=stage.name)

    async def stop(self) -> None:
        for stage in reversed(self.stages):
            try:
                await stage.stop()
            except Exception:
                log.exception("stage.stop_failed", stage=stage.name)
        self.stages.clear()
        await self.bus.close()
        self.db.dispose()
