"""Performance (delayed labels, CBPE) and embedding drift on real flight rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from detect.helpers import T0, context, predictions, window
from firebreak.detect.builtin.embedding import EmbeddingDrift
from firebreak.detect.builtin.performance import EstimatedPerformance, Performance
from firebreak.events import Label
from firebreak.monitor.base import DeploymentMemory

X = ["dep_delay", "distance", "hour"]


@pytest.fixture(scope="module")
def model(flights: pd.DataFrame) -> tuple[LogisticRegression, pd.DataFrame]:
    """A real classifier (will the flight arrive late?) trained on the first 5000 rows."""
    rows = flights.dropna(subset=["dep_delay", "arr_delay"]).reset_index(drop=True)
    train = rows.loc[:4999]
    clf = LogisticRegression(max_iter=500).fit(train[X], train["arr_delay"] > 15)
    return clf, rows


def _scored(clf: LogisticRegression, frame: pd.DataFrame, prefix: str, shift: float = 0.0):
    inputs = frame[X].copy()
    inputs["dep_delay"] += shift
    proba = clf.predict_proba(inputs)[:, 1]
    outputs = ["late" if p > 0.5 else "on_time" for p in proba]
    probs = [{"late": float(p), "on_time": float(1 - p)} for p in proba]
    events = predictions(frame, prefix=prefix, output=outputs, probabilities=probs)
    labels = [Label(event_id=f"{prefix}-l{i}", deployment="flights", ts=T0,
                    prediction_id=e.prediction_id, label="late" if late else "on_time")
              for i, (e, late) in enumerate(zip(events, frame["arr_delay"] > 15, strict=True))]
    return events, labels


def test_delayed_labels_join_and_accuracy_drop_fires(model) -> None:
    clf, rows = model
    memory = DeploymentMemory()
    ref_events, ref_labels = _scored(clf, rows.iloc[5000:7000], "r")
    ref = window(ref_events + ref_labels, 0, memory)
    ok_events, ok_labels = _scored(clf, rows.iloc[7000:9000], "ok")
    # labels arrive one window after their predictions: the join spans windows
    window(ok_events, 1, memory)
    ok = window(ok_labels, 2, memory)
    assert len(ok.get("performance").pairs) == 2000
    assert Performance().detect(context(ok, ref)) == []
    bad_events, bad_labels = _scored(clf, rows.iloc[9000:11000], "b", shift=-40.0)
    bad = window(bad_labels[:1000] + bad_events + bad_labels[1000:], 3, memory)  # early labels
    [signal] = Performance().detect(context(bad, ref))
    assert signal.metric == "accuracy" and signal.value < signal.threshold - 0.03
    assert signal.category == "performance_degradation" and signal.evidence_event_ids


def test_cbpe_estimate_drops_before_labels(model) -> None:
    clf, rows = model
    ref = window(_scored(clf, rows.iloc[5000:7000], "r")[0], 0)
    same = window(_scored(clf, rows.iloc[7000:9000], "s")[0], 1)
    assert EstimatedPerformance().detect(context(same, ref)) == []
    proba = clf.predict_proba(rows[X])[:, 1]
    unsure = rows[np.abs(proba - 0.5) < 0.15].iloc[:2000]  # traffic near the boundary
    cur = window(_scored(clf, unsure, "u")[0], 2)
    [signal] = EstimatedPerformance().detect(context(cur, ref))
    assert signal.metric == "estimated_accuracy" and signal.value < 0.7


def _embed(frame: pd.DataFrame, stats: pd.DataFrame) -> np.ndarray:
    cols = ["dep_delay", "arr_delay", "air_time", "distance", "hour", "month"]
    z = (frame[cols].fillna(stats.loc["mean"]) - stats.loc["mean"]) / stats.loc["std"]
    return z.to_numpy()


def test_embedding_drift(flights: pd.DataFrame) -> None:
    cols = ["dep_delay", "arr_delay", "air_time", "distance", "hour", "month"]
    stats = flights[cols].agg(["mean", "std"])
    def win(frame: pd.DataFrame, prefix: str, i: int):
        return window(predictions(frame, prefix=prefix, embeddings=_embed(frame, stats)), i)

    ref = win(flights.iloc[:1000], "r", 0)
    assert EmbeddingDrift().detect(context(win(flights.iloc[1000:2000], "s", 1), ref)) == []
    long_haul = flights[flights["distance"] > 1500].iloc[:1000]
    [signal] = EmbeddingDrift().detect(context(win(long_haul, "d", 2), ref))
    assert signal.metric == "embedding_mmd2" and len(signal.evidence_event_ids) == 256
