"""The columnar fold path profiles features exactly as profiling a DataFrame of them does."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from firebreak.events import Label, Prediction
from firebreak.monitor.base import DeploymentMemory
from firebreak.monitor.batch import EventBatch, feature_columns
from firebreak.monitor.labels import PerformanceAggregate
from firebreak.monitor.profile import DatasetProfile

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _summary(profile: DatasetProfile) -> dict[str, object]:
    return {name: (c.count, c.missing, c.numeric_count, c.categories(),
                   None if c.kll is None else (c.kll.get_min_value(), c.kll.get_max_value()))
            for name, c in profile.columns.items()} | {"rows": profile.rows}


def test_feature_columns_match_a_dataframe_profile() -> None:
    rows = [
        {"x": 1, "flag": True, "city": "Oslo", "code": "7"},
        {"x": 2.5, "flag": False, "city": None, "code": "8"},
        {"x": None, "flag": True, "city": "Rome", "extra": 3},   # "code" absent, "extra" new
        {"x": 4, "flag": None, "city": "Oslo", "code": 9},       # a number among strings
    ]
    columns = feature_columns(rows)
    assert list(columns) == ["x", "flag", "city", "code", "extra"]
    assert columns["x"].dtype == np.float64 and np.isnan(columns["x"][2])
    assert columns["code"].dtype == object  # "7" stays a category, never the number 7
    assert _summary(DatasetProfile.of(columns)) == _summary(
        DatasetProfile.of(pd.DataFrame.from_records(rows)))


def test_uniform_rows_take_the_fast_path_with_the_same_result() -> None:
    rng = np.random.default_rng(3)
    rows = [{"a": float(v), "b": str(k)} for v, k in zip(rng.normal(size=500),
                                                        rng.integers(0, 4, 500), strict=True)]
    columns = feature_columns(rows)
    assert columns["a"].dtype == np.float64 and columns["b"].dtype == object
    assert _summary(DatasetProfile.of(columns)) == _summary(
        DatasetProfile.of(pd.DataFrame.from_records(rows)))


def test_batch_columns_and_kinds() -> None:
    events = [Prediction(event_id=f"p{i}", deployment="d", ts=T0, features={"a": i})
              for i in range(3)]
    events.insert(1, Label(event_id="l0", prediction_id="x", deployment="d", ts=T0, label=1))
    batch = EventBatch(events)
    assert batch.kinds() == {"prediction": 3, "label": 1}
    assert batch.column("features") == [{"a": 0}, None, {"a": 1}, {"a": 2}]
    preds = batch.of_kinds(frozenset({"prediction"}))
    assert [e.event_id for e in preds] == ["p0", "p1", "p2"]
    assert preds.column("features") == [{"a": 0}, {"a": 1}, {"a": 2}]


def test_bulk_prediction_fold_equals_event_by_event() -> None:
    probs = [{"y": 0.9, "n": 0.1}, {"y": 0.2, "n": 0.8}, None]
    preds = [Prediction(event_id=f"p{i}", prediction_id=f"id{i}", deployment="d", ts=T0,
                        output="y", score=0.7, probabilities=p) for i, p in enumerate(probs)]
    bulk, memory_a = PerformanceAggregate(), DeploymentMemory()
    bulk.update(preds, memory_a)
    single, memory_b = PerformanceAggregate(), DeploymentMemory()
    for e in preds:
        single.update([e], memory_b)
    assert bulk.to_dict() == single.to_dict()
    assert memory_a.predictions == memory_b.predictions
    # a label that arrived first is joined when its prediction comes in a later batch
    early = PerformanceAggregate()
    memory = DeploymentMemory()
    early.update([Label(event_id="l", prediction_id="id1", deployment="d", ts=T0, label="n")],
                 memory)
    early.update(preds, memory)
    assert early.pairs == [("n", "y", 0.7)] and "id1" not in memory.predictions
