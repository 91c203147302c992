"""Embedding aggregate: a bounded, exactly mergeable sample of a window's embeddings.

Keeps the `SAMPLE` embeddings whose event ids hash lowest (bottom-k sampling): the sample
of a merged window is the bottom-k of the union, whatever order the parts arrive in, so
the sample is uniform and merges exactly. Also keeps the running sum for the mean.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from firebreak.monitor.base import DeploymentMemory
from firebreak.monitor.batch import EventBatch

SAMPLE = 256


def _rank(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=7).digest(), "big")


class EmbeddingAggregate:
    """Bottom-k sample of embeddings plus their count and sum (see module docstring)."""

    name: ClassVar[str] = "embeddings"
    kinds: ClassVar[frozenset[str]] = frozenset({"prediction", "llm.call", "rag.document"})

    def __init__(self) -> None:
        self.count = 0
        self.total: np.ndarray | None = None
        self.sample: dict[str, tuple[int, list[float]]] = {}

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        rows = EventBatch.of(events).of_kinds(self.kinds)
        vectors = rows.column("embedding")
        if vectors.count(None) == len(vectors):
            return
        for e, vec in zip(rows, vectors, strict=True):
            if not vec:
                continue
            arr = np.asarray(vec, dtype=np.float64)
            if self.total is not None and arr.shape != self.total.shape:
                continue  # a different embedding model; keep the first dimension seen
            self.total = arr.copy() if self.total is None else self.total + arr
            self.count += 1
            self.sample[e.event_id] = (_rank(e.event_id), list(vec))
        self._trim()

    def _trim(self) -> None:
        if len(self.sample) > SAMPLE:
            keep = sorted(self.sample.items(), key=lambda kv: kv[1][0])[:SAMPLE]
            self.sample = dict(keep)

    def matrix(self) -> np.ndarray:
        """The sampled embeddings as an (n, d) array."""
        if not self.sample:
            return np.empty((0, 0))
        return np.asarray([v for _, v in self.sample.values()], dtype=np.float64)

    def event_ids(self) -> list[str]:
        return list(self.sample)

    def merge(self, other: Self) -> Self:
        out = type(self)()
        out.count = self.count + other.count
        parts = [t for t in (self.total, other.total) if t is not None]
        out.total = None if not parts else (parts[0] if len(parts) == 1 else parts[0] + parts[1])
        out.sample = {**self.sample, **other.sample}
        out._trim()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count,
                "total": None if self.total is None else self.total.tolist(),
                "sample": {k: [r, v] for k, (r, v) in self.sample.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = cls()
        out.count = int(data["count"])
        out.total = None if data.get("total") is None else np.asarray(data["total"])
        out.sample = {k: (int(r), list(v)) for k, (r, v) in data.get("sample", {}).items()}
        return out
