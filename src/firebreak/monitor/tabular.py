"""Aggregates over prediction events: their features, and their outputs.

`FeatureAggregate` profiles `Prediction.features` column by column; `OutputAggregate`
profiles the model's output, score and top-class confidence. Both keep a few event ids
as evidence: the first events that showed each category and events with missing values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from firebreak.monitor.base import DeploymentMemory, capped_extend
from firebreak.monitor.profile import DatasetProfile

EVIDENCE_PER_KEY = 20
MAX_EVIDENCE_KEYS = 2000


class _ProfileAggregate:
    """A DatasetProfile plus bounded evidence: {"col=value" | "missing:col": [event ids]}."""

    name: ClassVar[str] = ""
    kinds: ClassVar[frozenset[str]] = frozenset({"prediction"})

    def __init__(self, profile: DatasetProfile | None = None,
                 evidence: dict[str, list[str]] | None = None) -> None:
        self.profile = profile or DatasetProfile()
        self.evidence = evidence or {}

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def frame(self, events: Sequence[Any]) -> pd.DataFrame:
        raise NotImplementedError

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        rows = [e for e in events if e.kind in self.kinds]
        if not rows:
            return
        frame = self.frame(rows)
        self.profile.update(frame)
        self._collect_evidence(frame, [e.event_id for e in rows])

    def _collect_evidence(self, frame: pd.DataFrame, ids: list[str]) -> None:
        self._add("sample", ids[:EVIDENCE_PER_KEY])
        missing = frame.isna().to_numpy()
        id_arr = np.asarray(ids, dtype=object)
        for j in np.flatnonzero(missing.any(axis=0)):
            key = f"missing:{frame.columns[j]}"
            if len(self.evidence.get(key, ())) < EVIDENCE_PER_KEY:
                self._add(key, id_arr[missing[:, j]][:EVIDENCE_PER_KEY].tolist())
        if len(self.evidence) >= MAX_EVIDENCE_KEYS:
            return
        for col in frame.columns:
            series = frame[col]
            if series.dtype.kind in "iufb":
                continue
            values = series.to_numpy()
            uniques = pd.unique(values)
            fresh = [v for v in uniques if isinstance(v, str) and f"{col}={v}" not in self.evidence]
            if fresh:  # the first event showing each new category
                first = pd.Series(np.arange(len(values))).groupby(values).first()
                for value in fresh[: MAX_EVIDENCE_KEYS - len(self.evidence)]:
                    self.evidence[f"{col}={value}"] = [ids[int(first[value])]]

    def _add(self, key: str, ids: list[str]) -> None:
        capped_extend(self.evidence.setdefault(key, []), ids, EVIDENCE_PER_KEY)

    def merge(self, other: Self) -> Self:
        evidence = {k: list(v) for k, v in self.evidence.items()}
        for key, ids in other.evidence.items():
            capped_extend(evidence.setdefault(key, []), ids, EVIDENCE_PER_KEY)
        return type(self)(self.profile.merge(other.profile), evidence)

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile.to_dict(), "evidence": self.evidence}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(DatasetProfile.from_dict(data["profile"]), dict(data.get("evidence", {})))


class FeatureAggregate(_ProfileAggregate):
    """Profiles of a deployment's input features."""

    name: ClassVar[str] = "features"

    def frame(self, events: Sequence[Any]) -> pd.DataFrame:
        return pd.DataFrame.from_records([e.features for e in events])


class OutputAggregate(_ProfileAggregate):
    """Profiles of a deployment's outputs: `output`, `score` and `confidence`."""

    name: ClassVar[str] = "outputs"

    def frame(self, events: Sequence[Any]) -> pd.DataFrame:
        data: dict[str, list[Any]] = {"output": [], "score": [], "confidence": []}
        for e in events:
            data["output"].append(e.output)
            data["score"].append(e.score)
            data["confidence"].append(max(e.probabilities.values()) if e.probabilities else None)
        return pd.DataFrame({k: v for k, v in data.items() if any(x is not None for x in v)})
