"""The aggregate contract: mergeable per-window state that detectors read.

An aggregate folds the events of one deployment and one window. It declares the event
kinds it reads (`kinds`) and a short `name`; detectors ask for aggregates by name, so two
detectors reading the same state share one instance. Like a whylogs metric it has
`zero()` (the identity), `update(events, memory)`, `merge(other)` (returns a new value;
merge(zero, x) == x) and a JSON-able `to_dict`/`from_dict`, so windows can be stored,
pinned as references and merged across workers.

`memory` is per-deployment state that outlives windows (e.g. recent predictions waiting
for their delayed labels); aggregates may read and write it, never another deployment's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, ClassVar, Protocol, Self, runtime_checkable


@runtime_checkable
class Aggregate(Protocol):
    """Mergeable state for one window (see module docstring)."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    @classmethod
    def zero(cls) -> Self: ...

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None: ...

    def merge(self, other: Self) -> Self: ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...


def trim_oldest(mapping: dict[str, Any], limit: int) -> None:
    """Forget the oldest entries (insertion order) of `mapping` beyond `limit`."""
    excess = len(mapping) - limit
    if excess > 0:
        deque(map(mapping.__delitem__, list(islice(mapping, excess))), maxlen=0)  # C loop


@dataclass
class DeploymentMemory:
    """State of one deployment that spans windows: the delayed-label join buffers."""

    predictions: dict[str, Any] = field(default_factory=dict)   # trimmed to max_predictions
    early_labels: dict[str, Any] = field(default_factory=dict)  # trimmed to max_early_labels
    max_predictions: int = 200_000
    max_early_labels: int = 50_000
    extras: dict[str, Any] = field(default_factory=dict)


def capped_extend(target: list[Any], items: Sequence[Any], cap: int) -> None:
    """Append while `target` is shorter than `cap` (bounded evidence lists)."""
    room = cap - len(target)
    if room > 0:
        target.extend(items[:room])
