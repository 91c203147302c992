"""The JetStream Bus against the real NATS server on 127.0.0.1:4222."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

import pytest
from nats.js.errors import NotFoundError

from firebreak.bus import EVENTS
from firebreak.events import LLMCall
from firebreak.jetstream import JetStreamBus, subject_token


def _need_nats() -> None:
    try:
        socket.create_connection(("127.0.0.1", 4222), timeout=1).close()
    except OSError:
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("NATS on 127.0.0.1:4222 is required in CI and is not running")
        pytest.skip("NATS on 127.0.0.1:4222 is not running (mandatory in CI)")


@pytest.fixture
async def bus_prefix():  # type: ignore[no-untyped-def]
    _need_nats()
    prefix = f"fbt{uuid.uuid4().hex[:8]}"
    yield prefix
    cleanup = JetStreamBus(prefix=prefix)
    await cleanup.delete_streams()
    await cleanup.close()


def _calls(n: int, deployment: str = "support.bot") -> list[LLMCall]:
    return [LLMCall(event_id=f"e{i}", deployment=deployment, response=f"r{i}") for i in range(n)]


async def _collect(bus: JetStreamBus, name: str, want: int, got: list[str]) -> None:
    async def handler(items: list[LLMCall]) -> None:
        got.extend(e.event_id for e in items)

    bus.subscribe(EVENTS, handler, name=name)
    await bus.start()
    for _ in range(100):
        if len(set(got)) >= want:  # at least once: a late ack can bring a message twice
            return
        await asyncio.sleep(0.05)


async def test_publish_then_consume_in_order_with_dedupe(bus_prefix: str) -> None:
    pub = JetStreamBus(prefix=bus_prefix)
    await pub.publish(EVENTS, _calls(50))
    await pub.publish(EVENTS, _calls(50))  # a retried publish: deduped by Nats-Msg-Id
    got: list[str] = []
    sub = JetStreamBus(prefix=bus_prefix)
    await _collect(sub, "workers", 50, got)
    await asyncio.sleep(0.3)
    assert got == [f"e{i}" for i in range(50)]
    await sub.close()
    await pub.close()


async def test_unacked_batch_is_redelivered_after_a_crash(bus_prefix: str) -> None:
    pub = JetStreamBus(prefix=bus_prefix)
    await pub.publish(EVENTS, _calls(10))
    seen_by_first: list[str] = []

    async def crashing(items: list[LLMCall]) -> None:
        seen_by_first.extend(e.event_id for e in items)
        raise RuntimeError("worker died mid-batch")

    first = JetStreamBus(prefix=bus_prefix, ack_wait=1.0)
    first.subscribe(EVENTS, crashing, name="workers")
    await first.start()
    for _ in range(40):
        if seen_by_first:
            break
        await asyncio.sleep(0.05)
    await first.close()  # gone without acking anything
    got: list[str] = []
    second = JetStreamBus(prefix=bus_prefix, ack_wait=1.0)
    await _collect(second, "workers", 10, got)
    await second.close()
    await pub.close()
    assert seen_by_first, "the first worker received the batch"
    assert sorted(set(got), key=lambda s: int(s[1:])) == [f"e{i}" for i in range(10)]


def test_subject_token_is_safe() -> None:
    assert subject_token("support.bot v2*>") == "support_bot_v2__"


async def test_a_slow_handler_keeps_its_messages(bus_prefix: str) -> None:
    """A batch handled for longer than the ack wait is not redelivered to another replica
    (in-progress reminders), and every message is still acked once handled."""
    pub = JetStreamBus(prefix=bus_prefix)
    await pub.publish(EVENTS, _calls(20))
    slow_got: list[str] = []
    other_got: list[str] = []

    async def slow(items: list[LLMCall]) -> None:
        await asyncio.sleep(2.5)  # 2.5 ack waits
        slow_got.extend(e.event_id for e in items)

    async def other(items: list[LLMCall]) -> None:
        other_got.extend(e.event_id for e in items)

    first = JetStreamBus(prefix=bus_prefix, ack_wait=1.0)
    first.subscribe(EVENTS, slow, name="workers")
    await first.start()
    for _ in range(100):  # the first replica holds the messages before the second starts
        await asyncio.sleep(0.05)
        with contextlib.suppress(NotFoundError):  # the consumer is created on start
            info = await first._js.consumer_info(first.stream_name(EVENTS), "workers")
            if info.num_ack_pending == 20:
                break
    second = JetStreamBus(prefix=bus_prefix, ack_wait=1.0)
    second.subscribe(EVENTS, other, name="workers")
    await second.start()
    for _ in range(100):
        if len(slow_got) >= 20:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # a redelivery would reach the second replica now
    info = await first._js.consumer_info(first.stream_name(EVENTS), "workers")
    await second.close()
    await first.close()
    await pub.close()
    assert sorted(slow_got, key=lambda s: int(s[1:])) == [f"e{i}" for i in range(20)]
    assert other_got == []
    assert info.num_ack_pending == 0 and info.num_redelivered == 0
