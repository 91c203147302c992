"""The bus: how accepted events (and signals) travel from ingest to the stages after it.

`Bus` is the seam: the in-process implementation below serves the embedded default; a
JetStream implementation serves the scaled topology. Delivery is in publish order per
topic, hence in order per deployment. Publishers wait when a subscriber's queue is full
(back-pressure), so nothing is dropped silently; accepted events are already durable in
the store before they are published, so a subscriber can always catch up from there.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

Handler = Callable[[list[Any]], Awaitable[None] | None]

EVENTS = "events"            # items: firebreak.events.Event (already stored)
SIGNALS = "signals"          # items: firebreak.signals.Signal
INCIDENTS = "incidents"      # items: {"incident_id", "change"} after the store has the change


class Bus(Protocol):
    async def publish(self, topic: str, items: Sequence[Any]) -> None: ...

    def subscribe(self, topic: str, handler: Handler, *, name: str) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Subscriber:
    name: str
    handler: Handler
    queue: asyncio.Queue[list[Any] | None]
    task: asyncio.Task[None] | None = None
    failures: int = 0


@dataclass
class InProcessBus:
    """An asyncio bus: one ordered, bounded queue and one consumer task per subscriber."""

    max_pending_batches: int = 1000
    _subs: dict[str, list[_Subscriber]] = field(default_factory=dict)
    _started: bool = False

    def subscribe(self, topic: str, handler: Handler, *, name: str) -> None:
        sub = _Subscriber(name, handler, asyncio.Queue(self.max_pending_batches))
        self._subs.setdefault(topic, []).append(sub)
        if self._started:
            sub.task = asyncio.get_running_loop().create_task(self._consume(sub))

    async def start(self) -> None:
        self._started = True
        for sub in self._all():
            if sub.task is None:
                sub.task = asyncio.get_running_loop().create_task(self._consume(sub))

    async def publish(self, topic: str, items: Sequence[Any]) -> None:
        if not items:
            return
        batch = list(items)
        for sub in self._subs.get(topic, ()):
            await sub.queue.put(batch)

    async def drain(self) -> None:
        """Wait until every subscriber has handled everything published so far."""
        for sub in self._all():
            await sub.queue.join()

    async def close(self) -> None:
        for sub in self._all():
            if sub.task is not None:
                await sub.queue.put(None)
        for sub in self._all():
            if sub.task is not None:
                await sub.task
                sub.task = None
        self._started = False

    def _all(self) -> list[_Subscriber]:
        return [s for subs in self._subs.values() for s in subs]

    async def _consume(self, sub: _Subscriber) -> None:
        while True:
            batch = await sub.queue.get()
            try:
                if batch is None:
                    return
                result = sub.handler(batch)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one bad batch must never stop the loop
                sub.failures += 1
                log.exception("bus.handler_failed", subscriber=sub.name)
            finally:
                sub.queue.task_done()
