"""The ingest pipeline: validate each item, refuse bad ones by index, redact, store, publish.

One bad item never spoils a batch: good items are kept and every refused one is reported
with its index, the field at fault and the reason. Accepted events are committed to the
store before `ingest` returns (so the caller may acknowledge them) and published on the
bus right after the commit, new ones only, in commit order.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from firebreak import bus, metrics
from firebreak.config import Settings
from firebreak.events import EVENT_KINDS, Event, event_adapter
from firebreak.ingest.body import BadItem
from firebreak.ingest.redact import Redactor
from firebreak.store import Database
from firebreak.store.events import insert_events

_batch_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
Publish = Callable[[list[Event]], None]


@dataclass(frozen=True)
class Refusal:
    """One item refused: its position in the request, the field at fault, and why."""

    index: int
    field: str
    reason: str


@dataclass
class IngestResult:
    """What happened to one batch: counts, refusals, and the events that were new."""

    accepted: int = 0
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    new_events: list[Event] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The answer body of POST /v1/events."""
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "refused": [{"index": r.index, "field": r.field, "reason": r.reason}
                            for r in self.refused]}


def field_of(error: Any) -> str:
    """A dotted field path from one pydantic error, without the union tag."""
    if str(error.get("type", "")).startswith("union_tag"):
        return "kind"
    loc = [str(p) for p in error.get("loc", ())]
    if loc and loc[0] in EVENT_KINDS:
        loc = loc[1:]
    return ".".join(loc) or "event"


def refusal(index: int, exc: ValidationError) -> Refusal:
    """The first error of `exc` as a refusal; later errors are summarised in the reason."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    reason = str(first.get("msg", "invalid"))
    more = [f"{field_of(e)}: {e.get('msg', 'invalid')}" for e in errors[1:4]]
    if more:
        reason += "; also " + "; ".join(more) + ("; ..." if len(errors) > 4 else "")
    return Refusal(index, field_of(first), reason)


def _long_field(value: Any, limit: int, path: str) -> str | None:
    """The path of the first string in `value` longer than `limit` characters, if any."""
    if isinstance(value, str):
        return path if len(value) > limit else None
    children = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, child in children:
        found = _long_field(child, limit, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class Ingestor:
    """Validates, redacts and stores batches of raw items under the given settings."""

    def __init__(self, settings: Settings) -> None:
        self.max_field_chars = settings.api.max_field_chars
        self.redactor = Redactor(settings.redaction)
        self._order = threading.Lock()

    def validate(self, items: Sequence[Any], *, body_size: int | None = None
                 ) -> tuple[list[Event], list[Refusal]]:
        """Validated events (in order) and refusals for the items that are not events."""
        refused = self._check_limits(items, body_size)
        if not refused:
            try:  # the common case: one call into pydantic-core for the whole batch
                return _batch_adapter.validate_python(items), []
            except ValidationError:
                pass
        bad = {r.index for r in refused}
        events: list[Event] = []
        for i, item in enumerate(items):
            if i in bad:
                continue
            try:
                events.append(event_adapter.validate_python(item))
            except ValidationError as exc:
                refused.append(refusal(i, exc))
        refused.sort(key=lambda r: r.index)
        return events, refused

    def _check_limits(self, items: Sequence[Any], body_size: int | None) -> list[Refusal]:
        limit = self.max_field_chars
        refused: list[Refusal] = []
        skip_lengths = body_size is not None and body_size <= limit  # no string can be longer
        for i, item in enumerate(items):
            if isinstance(item, BadItem):
                refused.append(Refusal(i, item.field, item.reason))
            elif not isinstance(item, dict):
                refused.append(Refusal(i, "event", "must be a JSON object"))
            elif not skip_lengths and len(orjson.dumps(item)) > limit:
                path = _long_field(item, limit, "")
                if path is not None:
                    refused.append(Refusal(i, path, f"longer than {limit} characters"))
        return refused

    def ingest(self, db: Database, items: Sequence[Any], *, body_size: int | None = None,
               source: str = "http", publish: Publish | None = None,
               republish: bool = False) -> IngestResult:
        """Validate, redact and store `items`; returns once the new events are committed.

        `publish(new_events)` runs right after the commit, under the same lock, so that
        subscribers see batches in commit order (hence in order per deployment).
        """
        events, refused = self.validate(items, body_size=body_size)
        for event in events:
            self.redactor.redact(event)
        with self._order:
            fresh = insert_events(db, events) if events else []
            # Scaled topology (`republish`): duplicates are published again, so a client's
            # retry after a failed JetStream publish is not lost (consumers dedupe by id).
            out = events if republish else fresh
            if out and publish is not None:
                publish(out)
        result = IngestResult(len(fresh), len(events) - len(fresh), refused, fresh)
        _count(result, events, source)
        return result


def _count(result: IngestResult, events: list[Event], source: str) -> None:
    metrics.ingest_batches.labels(source).inc()
    for kind, n in Counter(e.kind for e in result.new_events).items():
        metrics.ingest_events.labels(kind, "accepted").inc(n)
    if result.duplicates:
        metrics.ingest_events.labels("any", "duplicate").inc(result.duplicates)
    if result.refused:
        metrics.ingest_events.labels("any", "refused").inc(len(result.refused))


async def ingest_and_publish(runtime: Any, items: Sequence[Any], *,
                             body_size: int | None = None, source: str = "http") -> IngestResult:
    """Ingest off the event loop; the new events are published on `bus.EVENTS` after commit.

    `runtime` is a `firebreak.runtime.Runtime` (typed loosely to keep this module below it).
    """
    ingestor = runtime.extras.get("ingestor")
    if ingestor is None:
        ingestor = runtime.extras["ingestor"] = Ingestor(runtime.settings)
    loop = asyncio.get_running_loop()

    def publish(events: list[Event]) -> None:
        # Runs in the worker thread; waits while a subscriber's queue is full (back-pressure).
        asyncio.run_coroutine_threadsafe(runtime.bus.publish(bus.EVENTS, events), loop).result()

    result: IngestResult = await asyncio.to_thread(
        ingestor.ingest, runtime.db, items, body_size=body_size, source=source, publish=publish,
        republish=runtime.settings.bus.kind == "jetstream")
    return result
