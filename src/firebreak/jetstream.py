"""The Bus on NATS JetStream, for the scaled topology (extra `scale`).

One file-backed stream per topic (events, signals, incidents) with subjects by deployment:
`<prefix>.<topic>.<deployment>`. `publish` returns only after JetStream acknowledged every
message, so ingest can answer 2xx; each message carries `Nats-Msg-Id` (the event id where
there is one), so a retried publish is stored once. Subscribers are durable pull consumers:
replicas that subscribe with the same name share the work, and a message is acked only
after its handler returned, so a crash redelivers it (handlers dedupe by event id).
Pulls of `batch` messages run ahead of the handler (`prefetch` batches deep) and batches
that already arrived are handed over together, so a worker's round trips to JetStream and
to PostgreSQL overlap instead of adding up.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    batch: int = 500  # messages per pull request
    prefetch: int = 2  # pulled batches waiting while the handler works
    max_batch: int = 2000  # messages handed to the handler at once (one commit in a worker)
    max_ack_pending: int = 20_000  # per consumer, across replicas (server default: 1,000)
    fetch_timeout: float = 0.5
    publish_timeout: float = 5.0  # seconds for JetStream to acknowledge a batch
    # seconds for a JetStream API call (stream and consumer info, creation): when many
    # processes start at once on a busy machine the server has taken over 5 s (the
    # client's default) to answer, and a replica died of it on its way up
    api_timeout: float = 20.0
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
        self._js = self._nc.jetstream(timeout=self.api_timeout)

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
        for item in items:  # every message goes out at once; one inbox collects the acks
            data, msg_id, deployment = encode(item)
            headers = {"Nats-Msg-Id": msg_id} if msg_id else None
            acks.append(await self._js.publish_async(self.subject(topic, deployment), data,
                                                     headers=headers))
        # Raises unless every message was stored (an unanswered one times out).
        await asyncio.wait_for(asyncio.gather(*acks), self.publish_timeout)

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
        """Fold batches while the next one is being fetched; ack each batch after its
        handler returned (a failed batch is not acked: JetStream redelivers it)."""
        await self._ensure_stream(topic)
        pull = await self._pull_consumer(topic, subject_token(name))
        fetched: asyncio.Queue[list[Any]] = asyncio.Queue(maxsize=self.prefetch)
        held: dict[int, Any] = {}  # pulled and not yet acked (queued or being handled)
        loop = asyncio.get_running_loop()
        fetcher = loop.create_task(self._fetch(pull, name, fetched, held))
        keeper = loop.create_task(self._keep_alive(held))
        try:
            while not self._closing:
                msgs = await fetched.get()
                while len(msgs) < self.max_batch and not fetched.empty():
                    msgs += fetched.get_nowait()  # what already arrived goes in the same batch
                try:
                    result = handler([decode(topic, m.data) for m in msgs])
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    # Not acked: JetStream redelivers after the ack wait.
                    log.exception("jetstream.handler_failed", consumer=name)
                    for m in msgs:
                        held.pop(id(m), None)
                    await asyncio.sleep(0.2)
                    continue
                for m in msgs:  # fire-and-forget publishes into one write buffer: no round trip
                    await m.ack()
                    held.pop(id(m), None)
        finally:
            for task in (fetcher, keeper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _keep_alive(self, held: dict[int, Any]) -> None:
        """Tell JetStream that held messages are still being worked on (+WPI), so a slow
        handler or a deep queue does not get them redelivered to another replica; if this
        process dies the reminders stop and the ack wait runs out as usual."""
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            for m in list(held.values()):
                await m.in_progress()

    async def _pull_consumer(self, topic: str, durable: str) -> Pull:
        """The durable pull consumer (created on first use) and a Pull reading it."""
        from nats.js.api import ConsumerConfig
        from nats.js.errors import NotFoundError

        stream = self.stream_name(topic)
        try:
            await self._js.consumer_info(stream, durable)
        except NotFoundError:
            try:
                await self._js.add_consumer(stream, ConsumerConfig(
                    durable_name=durable, ack_wait=self.ack_wait,
                    max_ack_pending=self.max_ack_pending))
            except Exception:  # a replica created it first (maybe with other settings)
                await self._js.consumer_info(stream, durable)
        pull = Pull(self._nc, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}")
        await pull.open()
        return pull

    async def _fetch(self, pull: Pull, name: str, out: asyncio.Queue[list[Any]],
                     held: dict[int, Any]) -> None:
        """Pull batches ahead of the handler, so fetch and fold overlap (`prefetch` deep)."""
        while not self._closing:
            try:
                msgs = await pull.fetch(self.batch, self.fetch_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a reconnect: the next request goes out once it is back
                log.warning("jetstream.fetch_failed", consumer=name, error=str(exc))
                await asyncio.sleep(0.2)
                continue
            if msgs:
                held.update((id(m), m) for m in msgs)
                await out.put(msgs)

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None
        self._closing = False

    async def delete_streams(self) -> None:
        """Remove this bus's streams (tests and `firebreak bus reset`)."""
        await self.connect()
        for topic in (EVENTS, SIGNALS, "incidents"):
            with contextlib.suppress(Exception):
                await self._js.delete_stream(self.stream_name(topic))
        self._streams.clear()


class Pull:
    """Pull requests to one durable consumer, answered on one inbox.

    JetStream's own pull protocol: a request `{"batch": n, ...}` to the consumer's
    MSG.NEXT subject; messages arrive on the reply inbox, and a status message (404 no
    messages, 408 request expired, 409 ...) ends a request early. nats-py's `fetch` waits
    for each message with its own task and timer (about 90 µs of CPU per message here);
    one callback appending to a buffer costs a fifth of that.
    """

    def __init__(self, nc: Any, api_subject: str) -> None:
        self.nc = nc
        self.api_subject = api_subject
        self.inbox = nc.new_inbox()
        self.buffer: list[Any] = []  # delivered, not yet handed out (still unacked)
        self.want = 1
        self.answered = asyncio.Event()

    async def open(self) -> None:
        await self.nc.subscribe(self.inbox, cb=self._on_message)

    async def _on_message(self, msg: Any) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self.buffer.append(msg)
            if len(self.buffer) >= self.want:
                self.answered.set()
        elif status != "100":  # 100 is a heartbeat; anything else ends the request
            self.answered.set()

    async def _request(self, batch: int, want: int, wait: float, **extra: Any) -> None:
        self.answered.clear()
        self.want = want
        await self.nc.publish(self.api_subject, orjson.dumps({"batch": batch, **extra}),
                              reply=self.inbox)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.answered.wait(), wait)

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        """Up to `batch` messages: those already waiting at once, else the first ones to
        arrive within `timeout` (an empty list when none did)."""
        if not self.buffer:  # what is there now, answered at once (404 when nothing)
            await self._request(batch, batch, timeout + 1, no_wait=True)
        if not self.buffer:  # wait for the next message; a request of one leaves nothing
            # pending on the server once answered, and the next no_wait pull takes the rest
            await self._request(1, 1, timeout + 1, expires=int(timeout * 1e9))
        msgs, self.buffer = self.buffer[:batch], self.buffer[batch:]
        return msgs
