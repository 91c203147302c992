"""The Bus on NATS JetStream, for the scaled topology (extra `scale`).

One file-backed stream per topic (events, signals, incidents) with subjects by deployment:
`<prefix>.<topic>.<deployment>`. `publish` returns only after JetStream acknowledged every
message, so ingest can answer 2xx; each message carries `Nats-Msg-Id` (the event id where
there is one), so a retried publish is stored once. Subscribers are durable pull consumers:
replicas that subscribe with the same name share the work, and a message is acked only
after its handler returned, so a crash redelivers it (handlers dedupe by event id).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from pydantic import BaseModel

from firebreak.bus import EVENTS, SIGNALS, Handler
from firebreak.errors import MissingDependency

log = structlog.get_logger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(value: str) -> str:
    """A deployment name made safe as one NATS subject token."""
    return _UNSAFE.sub("_", value) or "_"


def encode(item: Any) -> tuple[bytes, str | None, str]:
    """(payload, message id for dedupe, deployment) for one bus item."""
    if isinstance(item, BaseModel):
        data = item.model_dump_json().encode()
        msg_id = getattr(item, "event_id", None)
        deployment = getattr(item, "deployment", "_")
    else:
        data = orjson.dumps(item)
        msg_id = item.get("id") if isinstance(item, dict) else None
        deployment = item.get("deployment", "_") if isinstance(item, dict) else "_"
    return data, msg_id, deployment


def decode(topic: str, data: bytes) -> Any:
    if topic == EVENTS:
        from firebreak.events import event_adapter

        return event_adapter.validate_json(data)
    if topic == SIGNALS:
        from firebreak.signals import Signal

        return Signal.model_validate_json(data)
    return orjson.loads(data)


@dataclass
class JetStreamBus:
    """A Bus whose messages live in JetStream streams until every consumer acked them."""

    url: str = "nats://127.0.0.1:4222"
    prefix: str = "firebreak"
    batch: int = 256
    fetch_timeout: float = 0.5
    ack_wait: float = 30.0  # seconds before an unacked message is redelivered
    _nc: Any = None
    _js: Any = None
    _subs: list[tuple[str, Handler, str]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _streams: set[str] = field(default_factory=set)
    _closing: bool = False

    def stream_name(self, topic: str) -> str:
        return f"{subject_token(self.prefix)}_{topic}".upper()

    def subject(self, topic: str, deployment: str) -> str:
        return f"{self.prefix}.{topic}.{subject_token(deployment)}"

    async def connect(self) -> None:
        if self._nc is not None:
            return
        try:
            import nats
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise MissingDependency("nats-py", "scale") from exc
        self._nc = await nats.connect(self.url, max_reconnect_attempts=-1,
                                      reconnect_time_wait=0.5, connect_timeout=5)
        self._js = self._nc.jetstream()

    async def _ensure_stream(self, topic: str) -> None:
        name = self.stream_name(topic)
        if name in self._streams:
            return
        from nats.js.api import StorageType, StreamConfig

        config = StreamConfig(name=name, subjects=[f"{self.prefix}.{topic}.>"],
                              storage=StorageType.FILE, duplicate_window=120.0)
        try:
            await self._js.add_stream(config)
        except Exception:  # already there with another config: use it as it is
            await self._js.stream_info(name)
        self._streams.add(name)

    async def publish(self, topic: str, items: Sequence[Any]) -> None:
        if not items:
            return
        await self.connect()
        await self._ensure_stream(topic)
        acks = []
        for item in items:
            data, msg_id, deployment = encode(item)
            headers = {"Nats-Msg-Id": msg_id} if msg_id else None
            acks.append(self._js.publish(self.subject(topic, deployment), data, headers=headers))
        await asyncio.gather(*acks)  # raises unless every message was stored

    def subscribe(self, topic: str, handler: Handler, *, name: str) -> None:
        self._subs.append((topic, handler, name))
        if self._nc is not None and not self._closing:
            self._tasks.append(asyncio.get_running_loop().create_task(
                self._consume(topic, handler, name)))

    async def start(self) -> None:
        await self.connect()
        for topic, handler, name in self._subs:
            self._tasks.append(asyncio.get_running_loop().create_task(
                self._consume(topic, handler, name)))

    async def _consume(self, topic: str, handler: Handler, name: str) -> None:
        await self._ensure_stream(topic)
        from nats.js.api import ConsumerConfig

        sub = await self._js.pull_subscribe(
            f"{self.prefix}.{topic}.>", durable=subject_token(name),
            stream=self.stream_name(topic), config=ConsumerConfig(ack_wait=self.ack_wait))
        while not self._closing:
            try:
                msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
            except Exception as exc:  # timeout with nothing to fetch, or a reconnect
                if not _is_timeout(exc):
                    log.warning("jetstream.fetch_failed", consumer=name, error=str(exc))
                    await asyncio.sleep(0.2)
                continue
            try:
                result = handler([decode(topic, m.data) for m in msgs])
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # Not acked: JetStream redelivers after the ack wait.
                log.exception("jetstream.handler_failed", consumer=name)
                await asyncio.sleep(0.2)
                continue
            await asyncio.gather(*(m.ack() for m in msgs))

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None
        self._closing = False

    async def delete_streams(self) -> None:
        """Remove this bus's streams (tests and `firebreak bus reset`)."""
        await self.connect()
        for topic in (EVENTS, SIGNALS, "incidents"):
            try:
                await self._js.delete_stream(self.stream_name(topic))
            except Exception:
                pass
        self._streams.clear()


def _is_timeout(exc: Exception) -> bool:
    return isinstance(exc, asyncio.TimeoutError) or type(exc).__name__ == "TimeoutError"
