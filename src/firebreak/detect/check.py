"""`firebreak.check(reference, current)`: a one-off drift report for two data sets.

Profiles both sides with the same sketches the live monitor uses, compares them column
by column (see `compare.py`) and, given a target and a prediction column, compares model
performance too. Works on pandas DataFrames, Arrow tables or {column: values} mappings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from firebreak.detect.compare import ColumnDrift, compare_profiles
from firebreak.detect.performance_metrics import PerformanceSummary, summarize_pairs
from firebreak.errors import ValidationFailed
from firebreak.monitor.profile import DatasetProfile, _columns_of

DEFAULT_ALPHA = 0.01


@dataclass
class CheckReport:
    """Per-column verdicts (`columns[name].drift`), performance, and a summary."""

    columns: dict[str, ColumnDrift]
    reference_rows: int
    current_rows: int
    alpha: float
    performance: dict[str, PerformanceSummary] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def drifted(self) -> list[str]:
        """Columns whose distribution or missing rate changed."""
        return [name for name, col in self.columns.items() if col.changed]

    @property
    def drift_share(self) -> float:
        return len(self.drifted) / len(self.columns) if self.columns else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_rows": self.reference_rows, "current_rows": self.current_rows,
            "alpha": self.alpha, "drifted": self.drifted, "drift_share": self.drift_share,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
            "performance": {k: v.to_dict() for k, v in self.performance.items()},
            "seconds": self.seconds,
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY).decode()


def check(reference: Any, current: Any, *, target: str | None = None,
          prediction: str | None = None, columns: Sequence[str] | None = None,
          alpha: float = DEFAULT_ALPHA, min_rows: int = 30) -> CheckReport:
    """Compare `current` against `reference`; see `CheckReport`."""
    started = time.perf_counter()
    if not 0 < alpha < 1:
        raise ValidationFailed("alpha", f"must be between 0 and 1, got {alpha}")
    ref_cols, cur_cols = _columns_of(reference), _columns_of(current)
    for name in (target, prediction, *(columns or ())):
        if name is not None and (name not in ref_cols or name not in cur_cols):
            raise ValidationFailed(name, "no such column in both reference and current")
    excluded = {target} - {None}
    chosen = [c for c in (columns or cur_cols) if c in ref_cols and c not in excluded]
    ref = DatasetProfile.of({c: ref_cols[c] for c in chosen})
    cur = DatasetProfile.of({c: cur_cols[c] for c in chosen})
    report = CheckReport(compare_profiles(ref, cur, alpha=alpha, min_rows=min_rows),
                         ref.rows, cur.rows, alpha)
    if target is not None and prediction is not None:
        report.performance = {
            "reference": summarize_pairs(list(zip(ref_cols[target], ref_cols[prediction],
                                                  strict=True))),
            "current": summarize_pairs(list(zip(cur_cols[target], cur_cols[prediction],
                                                strict=True))),
        }
    report.seconds = time.perf_counter() - started
    return report
