"""Model quality from (label, output[, score]) pairs: classifiers and regressors.

Classifier: accuracy, macro F1, and AUC when a score exists and the labels are binary.
Regressor: MAE and RMSE. The task is inferred: non-integral numeric outputs mean regression.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class PerformanceSummary:
    """Quality numbers of one sample of labelled predictions."""

    task: str                 # classification | regression | none
    n: int
    accuracy: float | None = None
    f1: float | None = None
    auc: float | None = None
    mae: float | None = None
    rmse: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _label(v: Any) -> str:
    """Class labels compare as text; 1, 1.0 and True-as-1 agree."""
    if _is_number(v) and float(v).is_integer():
        return str(int(v))
    return str(v)


def infer_task(pairs: Sequence[tuple[Any, ...]]) -> str:
    """'regression' when outputs are numbers and some are not whole, else 'classification'."""
    outputs = [p[1] for p in pairs if p[1] is not None]
    numeric = bool(outputs) and all(_is_number(o) for o in outputs)
    if numeric and any(not float(o).is_integer() for o in outputs if not math.isnan(float(o))):
        return "regression"
    return "classification"


def summarize_pairs(pairs: Sequence[tuple[Any, ...]]) -> PerformanceSummary:
    """Summarise (label, output[, score]) pairs, skipping those with a missing side."""
    clean = [p for p in pairs if p[0] is not None and p[1] is not None
             and not (isinstance(p[0], float) and math.isnan(p[0]))
             and not (isinstance(p[1], float) and math.isnan(p[1]))]
    if not clean:
        return PerformanceSummary("none", 0)
    task = infer_task(clean)
    if task == "regression":
        y = np.array([float(p[0]) for p in clean])
        yhat = np.array([float(p[1]) for p in clean])
        err = yhat - y
        return PerformanceSummary(task, len(clean), mae=float(np.mean(np.abs(err))),
                                  rmse=float(np.sqrt(np.mean(err**2))))
    return _classification(clean)


def _classification(pairs: Sequence[tuple[Any, ...]]) -> PerformanceSummary:
    from sklearn.metrics import f1_score, roc_auc_score

    y = [_label(p[0]) for p in pairs]
    yhat = [_label(p[1]) for p in pairs]
    acc = float(np.mean([a == b for a, b in zip(y, yhat, strict=True)]))
    f1 = float(f1_score(y, yhat, average="macro", zero_division=0))
    auc = None
    scores = [p[2] if len(p) > 2 else None for p in pairs]
    classes = sorted(set(y))
    if len(classes) == 2 and all(s is not None for s in scores):
        positive = [int(v == classes[1]) for v in y]
        auc = float(roc_auc_score(positive, scores))
    return PerformanceSummary("classification", len(pairs), accuracy=acc, f1=f1, auc=auc)
