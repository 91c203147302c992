"""Performance aggregate: delayed labels joined to predictions by prediction_id.

A prediction is remembered (in the deployment's memory, bounded) until its label arrives;
a label that comes first waits for its prediction. Each joined pair counts in the window
where the join happened. Before labels arrive, the model's own confidence gives an
estimate (NannyML's CBPE idea): with calibrated probabilities, the expected accuracy of a
window is the mean of its top-class probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import add
from typing import Any, ClassVar, Self

from firebreak.monitor.base import DeploymentMemory, trim_oldest
from firebreak.monitor.batch import EventBatch, top_probabilities

MAX_PAIRS = 20_000
_PREDICTION = frozenset({"prediction"})


def _confidences(rows: EventBatch) -> list[float | None]:
    """`_confidence` of every prediction, from the batch's top probabilities."""
    top = top_probabilities(rows)
    if None not in top:
        return top
    return [_confidence(e) if t is None else t for e, t in zip(rows, top, strict=True)]


def _confidence(e: Any) -> float | None:
    if e.probabilities:
        return max(e.probabilities.values())
    if e.score is not None and 0.0 <= e.score <= 1.0 and isinstance(e.output, bool | int | str):
        return max(e.score, 1.0 - e.score)
    return None


class PerformanceAggregate:
    """Joined (label, output, score) pairs and confidence sums (see module docstring)."""

    name: ClassVar[str] = "performance"
    kinds: ClassVar[frozenset[str]] = frozenset({"prediction", "label"})

    def __init__(self) -> None:
        self.pairs: list[tuple[Any, Any, float | None]] = []   # (label, output, score)
        self.event_ids: list[str] = []
        self.confidence_sum = 0.0
        self.confidence_n = 0

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        batch = EventBatch.of(events)
        predictions = batch.of_kinds(_PREDICTION)
        waiting = memory.early_labels and memory.early_labels.keys() & set(
            predictions.column("prediction_id"))
        if not batch.kinds().get("label") and not waiting:
            self._fold_predictions(predictions, memory)
        else:  # labels in play: join event by event, in arrival order
            for e in batch:
                self._fold_one(e, memory)
        trim_oldest(memory.predictions, memory.max_predictions)
        trim_oldest(memory.early_labels, memory.max_early_labels)

    def _fold_predictions(self, rows: EventBatch, memory: DeploymentMemory) -> None:
        """Predictions that meet no waiting label: remember them all in one pass."""
        if not rows:
            return
        confidence = _confidences(rows)
        present = [c for c in confidence if c is not None]
        # left-to-right addition, as one event at a time would add
        self.confidence_sum = reduce(add, present, self.confidence_sum)
        self.confidence_n += len(present)
        memory.predictions.update(zip(rows.column("prediction_id"), zip(
            rows.column("output"), rows.column("score"), rows.column("event_id"), strict=True),
            strict=True))

    def _fold_one(self, e: Any, memory: DeploymentMemory) -> None:
        if e.kind == "prediction":
            conf = _confidence(e)
            if conf is not None:
                self.confidence_sum += conf
                self.confidence_n += 1
            early = memory.early_labels.pop(e.prediction_id, None)
            if early is not None:
                self._join(early[0], e.output, e.score, early[1])
            else:
                memory.predictions[e.prediction_id] = (e.output, e.score, e.event_id)
        elif e.kind == "label":
            known = memory.predictions.pop(e.prediction_id, None)
            if known is None:
                memory.early_labels[e.prediction_id] = (e.label, e.event_id)
            else:
                self._join(e.label, known[0], known[1], known[2])

    def _join(self, label: Any, output: Any, score: float | None, event_id: str) -> None:
        if len(self.pairs) < MAX_PAIRS:
            self.pairs.append((label, output, score))
            self.event_ids.append(event_id)

    @property
    def estimated_accuracy(self) -> float | None:
        return self.confidence_sum / self.confidence_n if self.confidence_n else None

    def merge(self, other: Self) -> Self:
        out = type(self)()
        out.pairs = (self.pairs + other.pairs)[:MAX_PAIRS]
        out.event_ids = (self.event_ids + other.event_ids)[:MAX_PAIRS]
        out.confidence_sum = self.confidence_sum + other.confidence_sum
        out.confidence_n = self.confidence_n + other.confidence_n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": [list(p) for p in self.pairs], "event_ids": self.event_ids,
                "confidence_sum": self.confidence_sum, "confidence_n": self.confidence_n}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = cls()
        out.pairs = [tuple(p) for p in data.get("pairs", [])]  # type: ignore[misc]
        out.event_ids = list(data.get("event_ids", []))
        out.confidence_sum = float(data.get("confidence_sum", 0.0))
        out.confidence_n = int(data.get("confidence_n", 0))
        return out
