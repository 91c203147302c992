"""Windows: one deployment's aggregates over one tumbling time interval.

`window_bounds(ts, size)` aligns windows to the epoch, so every worker agrees on them and
partial windows from many workers merge exactly. A `Window` holds the aggregates that the
enabled detectors asked for, keyed by aggregate name, plus event counts per kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from firebreak.monitor.base import Aggregate, DeploymentMemory
from firebreak.monitor.batch import EventBatch
from firebreak.monitor.embeddings import EmbeddingAggregate
from firebreak.monitor.labels import PerformanceAggregate
from firebreak.monitor.ops import OpsAggregate
from firebreak.monitor.tabular import FeatureAggregate, OutputAggregate

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Built-in aggregates by name; plugins may bring their own classes (see detect/base.py).
BUILTIN_AGGREGATES: dict[str, type[Any]] = {
    cls.name: cls for cls in (FeatureAggregate, OutputAggregate, OpsAggregate,
                              EmbeddingAggregate, PerformanceAggregate)
}


def window_bounds(ts: datetime, size: timedelta) -> tuple[datetime, datetime]:
    """The [start, end) of the tumbling window of length `size` that holds `ts`."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    offset = (ts - _EPOCH) // size
    start = _EPOCH + offset * size
    return start, start + size


@dataclass
class Window:
    """Aggregates of one deployment over [start, end)."""

    deployment: str
    start: datetime
    end: datetime
    aggregates: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def zero(cls, deployment: str, start: datetime, end: datetime,
             kinds: Iterable[type[Any]]) -> Window:
        return cls(deployment, start, end, {k.name: k.zero() for k in kinds})

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    @property
    def minutes(self) -> float:
        return max((self.end - self.start).total_seconds() / 60.0, 1e-9)

    def get(self, name: str) -> Any:
        """The aggregate called `name`, or None when no enabled detector asked for it."""
        return self.aggregates.get(name)

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        """Fold a batch of this deployment's events into every aggregate that reads them."""
        batch = EventBatch.of(events)  # columns extracted once, shared by the aggregates
        kinds = batch.kinds()
        self.counts.update(kinds)
        for agg in self.aggregates.values():
            if not kinds.keys().isdisjoint(agg.kinds):
                agg.update(batch, memory)

    def merge(self, other: Window) -> Window:
        """The window covering both (same deployment); aggregates merged name by name."""
        aggs: dict[str, Any] = {}
        for name in {**self.aggregates, **other.aggregates}:
            a, b = self.aggregates.get(name), other.aggregates.get(name)
            aggs[name] = a.merge(b) if a is not None and b is not None else (a or b)
        return Window(self.deployment, min(self.start, other.start), max(self.end, other.end),
                      aggs, self.counts + other.counts)

    def to_bytes(self) -> bytes:
        return orjson.dumps({
            "deployment": self.deployment, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "counts": dict(self.counts),
            "aggregates": {k: v.to_dict() for k, v in self.aggregates.items()},
        })

    @classmethod
    def from_bytes(cls, raw: bytes, registry: Mapping[str, type[Aggregate]] | None = None
                   ) -> Window:
        """Load a stored window; aggregates of unknown names are skipped."""
        data = orjson.loads(raw)
        known = registry or BUILTIN_AGGREGATES
        aggs = {k: known[k].from_dict(v) for k, v in data["aggregates"].items() if k in known}
        return cls(data["deployment"], datetime.fromisoformat(data["start"]),
                   datetime.fromisoformat(data["end"]), aggs, Counter(data["counts"]))
