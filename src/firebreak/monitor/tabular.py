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
from firebreak.monitor.batch import EventBatch, feature_columns, top_probabilities, typed_column
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

    def columns(self, rows: EventBatch) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        rows = EventBatch.of(events).of_kinds(self.kinds)
        if not rows:
            return
        columns = self.columns(rows)
        missing_before = {c: p.missing for c, p in self.profile.columns.items()}
        self.profile.update(columns)
        gained = [c for c in columns
                  if self.profile.columns[c].missing > missing_before.get(c, 0)]
        self._collect_evidence(columns, rows.column("event_id"), gained)

    def _collect_evidence(self, columns: dict[str, np.ndarray], ids: list[str],
                          with_missing: list[str]) -> None:
        self._add("sample", ids[:EVIDENCE_PER_KEY])
        id_arr: np.ndarray | None = None
        for col in with_missing:  # the profile counted missing values there
            values, key = columns[col], f"missing:{col}"
            if len(self.evidence.get(key, ())) >= EVIDENCE_PER_KEY:
                continue
            missing = np.isnan(values) if values.dtype.kind == "f" else pd.isna(values)
            if missing.any():
                id_arr = np.asarray(ids, dtype=object) if id_arr is None else id_arr
                self._add(key, id_arr[missing][:EVIDENCE_PER_KEY].tolist())
        if len(self.evidence) >= MAX_EVIDENCE_KEYS:
            return
        for col, values in columns.items():
            if values.dtype.kind != "O":
                continue
            uniques = pd.unique(values)
            fresh = [v for v in uniques if isinstance(v, str) and f"{col}={v}" not in self.evidence]
            if fresh:  # the first event showing each new category
                room = MAX_EVIDENCE_KEYS - len(self.evidence)
                first = _first_positions(values)
                for value in fresh[:room]:
                    self.evidence[f"{col}={value}"] = [ids[first[value]]]

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


def _first_positions(values: np.ndarray) -> dict[Any, int]:
    """{value: index of its first occurrence}."""
    n = len(values)
    return dict(zip(values[::-1].tolist(), range(n - 1, -1, -1), strict=True))


class FeatureAggregate(_ProfileAggregate):
    """Profiles of a deployment's input features."""

    name: ClassVar[str] = "features"

    def columns(self, rows: EventBatch) -> dict[str, np.ndarray]:
        return feature_columns(rows.column("features"))


class OutputAggregate(_ProfileAggregate):
    """Profiles of a deployment's outputs: `output`, `score` and `confidence`."""

    name: ClassVar[str] = "outputs"

    def columns(self, rows: EventBatch) -> dict[str, np.ndarray]:
        data = {"output": rows.column("output"), "score": rows.column("score"),
                "confidence": top_probabilities(rows)}
        return {k: typed_column(v) for k, v in data.items() if v.count(None) < len(v)}
