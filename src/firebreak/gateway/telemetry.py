"""Background delivery of the gateway's telemetry: a bounded buffer drained in batches.

The caller never waits: `offer()` either queues the item or, when the buffer is full,
drops it and counts the drop (metric `firebreak_dropped_total{queue=...}` and `.dropped`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import structlog

from firebreak import metrics

log = structlog.get_logger(__name__)


class BatchSender:
    """Queues items and POSTs them in batches to `url` as `encode(batch)`."""

    def __init__(self, name: str, url: str, client: httpx.AsyncClient, *,
                 headers: dict[str, str] | None = None, capacity: int = 10_000,
                 batch_size: int = 200, linger: float = 0.2,
                 encode: Callable[[list[Any]], bytes] = orjson.dumps) -> None:
        self.name, self.url, self.client = name, url, client
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=capacity)
        self.batch_size, self.linger, self.encode = batch_size, linger, encode
        self.sent = self.dropped = self.failed = 0
        self._task: asyncio.Task[None] | None = None

    def offer(self, item: Any) -> bool:
        """Queue `item` without waiting; False (and counted) if the buffer is full."""
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.dropped += 1
            metrics.dropped.labels(queue=self.name).inc()
            return False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-sender")

    async def stop(self, drain_seconds: float = 2.0) -> None:
        """Send what is queued (within `drain_seconds`), then stop."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._drain(), drain_seconds)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _drain(self) -> None:
        while not self.queue.empty():
            await self._send(self._take_ready())

    def _take_ready(self) -> list[Any]:
        batch: list[Any] = []
        while len(batch) < self.batch_size and not self.queue.empty():
            batch.append(self.queue.get_nowait())
        return batch

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            await asyncio.sleep(self.linger)  # let a batch form
            await self._send([first, *self._take_ready()])

    async def _send(self, batch: list[Any]) -> None:
        if not batch:
            return
        body = self.encode(batch)
        for attempt in range(3):
            try:
                resp = await self.client.post(self.url, content=body, headers=self.headers)
                if resp.status_code < 500:
                    if resp.status_code >= 400:
                        log.warning("gateway.telemetry_refused", sink=self.name,
                                    status=resp.status_code, body=resp.text[:300])
                        self.failed += len(batch)
                    else:
                        self.sent += len(batch)
                    return
            except httpx.HTTPError as exc:
                log.debug("gateway.telemetry_retry", sink=self.name, error=str(exc))
            await asyncio.sleep(0.2 * 2**attempt)
        self.failed += len(batch)
        self.dropped += len(batch)
        metrics.dropped.labels(queue=self.name).inc(len(batch))
