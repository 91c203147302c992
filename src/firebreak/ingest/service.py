"""The ingest pipeline: validate each item, refuse bad ones by index, redact, store, publish.

One bad item never spoils a batch: good items are kept and every refused one is reported
with its index, the field at fault and the reason. Accepted events are committed to the
store before `ingest` returns (so the caller may acknowledge them) and published on the
bus right after the commit, new ones only, in commit order.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from firebreak import bus, metrics
from firebreak.config import Settings
from firebreak.events import EVENT_KINDS, Event, event_adapter
from firebreak.ingest.body import BadItem, may_hold_long_string, parse_items, too_many
from firebreak.ingest.group import GroupCommit, Publish
from firebreak.ingest.redact import Redactor
from firebreak.store import Database

_batch_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


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
        self._commits = GroupCommit()

    def validate_body(self, body: bytes, *, ndjson: bool, max_items: int
                      ) -> tuple[list[Event], list[Refusal]]:
        """Events and refusals from a request body (JSON array or NDJSON).

        A clean body is validated by pydantic-core straight from its bytes, in one call; a
        body with any problem is parsed again and its items are checked one by one, so
        every refusal names its index. Raises `BodyRejected` for a body that is no batch.
        """
        events = self._validate_clean(body, ndjson)
        if events is None:
            items = parse_items(body, ndjson=ndjson, max_items=max_items)
            return self.validate(items, body=body)
        if len(events) > max_items:
            raise too_many(len(events), max_items)
        return events, []

    def _validate_clean(self, body: bytes, ndjson: bool) -> list[Event] | None:
        """The events of `body` when every item is valid, else None (then: item by item)."""
        if b"NaN" in body or b"Infinity" in body:
            return None  # orjson refuses these, pydantic's parser takes them
        if may_hold_long_string(body, self.max_field_chars):
            return None
        try:
            if ndjson:  # per line: joined lines could parse as other items than the lines
                return [event_adapter.validate_json(line)
                        for line in body.splitlines() if line.strip()]
            if body[:64].lstrip()[:1] != b"[":
                return None
            return _batch_adapter.validate_json(body)
        except ValidationError:
            return None

    def validate(self, items: Sequence[Any], *, body: bytes | None = None
                 ) -> tuple[list[Event], list[Refusal]]:
        """Validated events (in order) and refusals for the items that are not events.

        `body`, the request the items came from, lets the field-length check be skipped
        when no string in it can be too long.
        """
        refused = self._check_limits(items, body)
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

    def _check_limits(self, items: Sequence[Any], body: bytes | None) -> list[Refusal]:
        limit = self.max_field_chars
        refused: list[Refusal] = []
        skip_lengths = body is not None and not may_hold_long_string(body, limit)
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

    def ingest(self, db: Database, items: Sequence[Any], *, source: str = "http",
               publish: Publish | None = None, republish: bool = False) -> IngestResult:
        """Validate, redact and store `items`; returns once the new events are committed."""
        events, refused = self.validate(items)
        return self.store(db, events, refused, source=source, publish=publish,
                          republish=republish)

    def ingest_body(self, db: Database, body: bytes, *, ndjson: bool, max_items: int,
                    source: str = "http", publish: Publish | None = None,
                    republish: bool = False) -> IngestResult:
        """`ingest` for a request body (see `validate_body`); raises `BodyRejected`."""
        events, refused = self.validate_body(body, ndjson=ndjson, max_items=max_items)
        return self.store(db, events, refused, source=source, publish=publish,
                          republish=republish)

    def store(self, db: Database, events: list[Event], refused: list[Refusal], *,
              source: str, publish: Publish | None, republish: bool) -> IngestResult:
        """Redact and store validated `events`; returns once the new ones are committed.

        `publish` runs right after the commit, in commit order (see `GroupCommit`).
        """
        redact = self.redactor.redact
        for event in events:
            redact(event)
        fresh = self._commits.write(db, events, publish=publish, republish=republish
                                    ) if events else []
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
                             source: str = "http") -> IngestResult:
    """Ingest off the event loop; the new events are published on `bus.EVENTS` after commit.

    `runtime` is a `firebreak.runtime.Runtime` (typed loosely to keep this module below it).
    """
    ingestor, publish = _ingestor_and_publish(runtime)
    result: IngestResult = await asyncio.to_thread(
        ingestor.ingest, runtime.db, items, source=source, publish=publish,
        republish=runtime.settings.bus.kind == "jetstream")
    return result


async def ingest_body_and_publish(runtime: Any, body: bytes, *, ndjson: bool,
                                  source: str = "http") -> IngestResult:
    """`ingest_and_publish` for a request body; raises `BodyRejected` (see `validate_body`)."""
    ingestor, publish = _ingestor_and_publish(runtime)
    result: IngestResult = await asyncio.to_thread(
        ingestor.ingest_body, runtime.db, body, ndjson=ndjson,
        max_items=runtime.settings.api.max_batch_events, source=source, publish=publish,
        republish=runtime.settings.bus.kind == "jetstream")
    return result


def _ingestor_and_publish(runtime: Any) -> tuple[Ingestor, Publish]:
    ingestor = runtime.extras.get("ingestor")
    if ingestor is None:
        ingestor = runtime.extras["ingestor"] = Ingestor(runtime.settings)
    loop = asyncio.get_running_loop()

    def publish(events: list[Event]) -> None:
        # Runs in the worker thread; waits while a subscriber's queue is full (back-pressure).
        asyncio.run_coroutine_threadsafe(runtime.bus.publish(bus.EVENTS, events), loop).result()

    return ingestor, publish
