"""Pick the Bus implementation from settings (`bus.kind`)."""

from __future__ import annotations

from typing import Any

from firebreak.bus import InProcessBus
from firebreak.config import Settings


def open_bus(settings: Settings) -> Any:
    """An InProcessBus (embedded default) or a JetStreamBus (scaled topology)."""
    if settings.bus.kind == "jetstream":
        from firebreak.jetstream import JetStreamBus

        return JetStreamBus(url=settings.bus.url, prefix=settings.bus.prefix,
                            ack_wait=settings.bus.ack_wait)
    return InProcessBus()


async def consumer_caught_up_to(bus: Any, topic: str, consumer: str) -> tuple[int, int] | None:
    """(stream last sequence, consumer ack floor) for a JetStream consumer; None when the
    bus is in-process (nothing can lag) or the consumer does not exist yet."""
    from firebreak.jetstream import JetStreamBus, subject_token

    if not isinstance(bus, JetStreamBus):
        return None
    await bus.connect()
    stream = bus.stream_name(topic)
    info = await bus._js.consumer_info(stream, subject_token(consumer))
    state = (await bus._js.stream_info(stream)).state
    return int(state.last_seq), int(info.ack_floor.stream_seq)
