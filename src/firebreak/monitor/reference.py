"""References (baselines): what a deployment's windows are compared with.

Three sources: (a) a reference data file (CSV, Parquet, JSON lines) whose columns are the
features, plus optional prediction / target columns; (b) a pinned past window from the
store; (c) the warm-up: the first windows the monitor closes, merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from firebreak.errors import ValidationFailed
from firebreak.monitor.labels import PerformanceAggregate
from firebreak.monitor.profile import DatasetProfile
from firebreak.monitor.tabular import FeatureAggregate, OutputAggregate
from firebreak.monitor.window import Window

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet,
           ".jsonl": lambda p: pd.read_json(p, lines=True),
           ".ndjson": lambda p: pd.read_json(p, lines=True)}


def read_table(path: str | Path, field: str = "path") -> pd.DataFrame:
    """Read a CSV, Parquet or JSON-lines file; ValidationFailed naming `field` otherwise."""
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise ValidationFailed(field, f"{p.name}: use a .csv, .parquet or .jsonl file")
    if not p.is_file():
        raise ValidationFailed(field, f"{p} does not exist")
    try:
        frame = reader(p)
    except Exception as exc:
        raise ValidationFailed(field, f"{p.name} could not be read: {exc}") from exc
    if frame.empty:
        raise ValidationFailed(field, f"{p.name} has no rows")
    return frame


def reference_from_frame(deployment: str, frame: pd.DataFrame, *,
                         prediction: str | None = None, target: str | None = None,
                         score: str | None = None) -> Window:
    """A reference window from a table: features, and outputs / labels if named."""
    for name, col in (("prediction", prediction), ("target", target), ("score", score)):
        if col is not None and col not in frame.columns:
            raise ValidationFailed(name, f"no column {col!r} in the reference file")
    special = {c for c in (prediction, target, score) if c}
    now = datetime.now(UTC)
    window = Window(deployment, now, now)
    window.aggregates["features"] = FeatureAggregate(
        DatasetProfile.of(frame[[c for c in frame.columns if c not in special]]))
    outputs = {k: frame[c] for k, c in (("output", prediction), ("score", score)) if c}
    if outputs:
        window.aggregates["outputs"] = OutputAggregate(DatasetProfile.of(outputs))
    if prediction and target:
        perf = PerformanceAggregate()
        scores = frame[score].tolist() if score else [None] * len(frame)
        perf.pairs = list(zip(frame[target].tolist(), frame[prediction].tolist(), scores,
                              strict=True))[:20_000]
        window.aggregates["performance"] = perf
    window.counts["prediction"] = len(frame)
    return window


def merge_windows(windows: Sequence[Window]) -> Window | None:
    """One window covering all of `windows` (the warm-up reference), or None if empty."""
    if not windows:
        return None
    out = windows[0]
    for w in windows[1:]:
        out = out.merge(w)
    return out


def window_rows(window: Window) -> int:
    """How many events a reference summarises."""
    return int(sum(window.counts.values()))


def describe(window: Window) -> dict[str, Any]:
    """A short description of a reference for `firebreak baseline show`."""
    features = window.get("features")
    cols = sorted(features.profile.columns) if features is not None else []
    return {"start": window.start.isoformat(), "end": window.end.isoformat(),
            "events": dict(window.counts), "features": cols,
            "aggregates": sorted(window.aggregates)}
