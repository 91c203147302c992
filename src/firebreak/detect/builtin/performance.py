"""Model performance: realised once labels arrive, estimated from confidence before that.

`Performance` compares the window's joined (label, prediction) pairs with the baseline's
(the reference, else recent windows): accuracy for classifiers (one-sided two-proportion
test), MAE for regressors (one-sided Welch test on absolute errors); a drop must be both
significant and larger than an effect floor. `EstimatedPerformance` does the same with the
confidence-based estimate (CBPE) of accuracy, for windows whose labels have not come yet.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy import stats as sps

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.performance_metrics import summarize_pairs
from firebreak.monitor.labels import PerformanceAggregate
from firebreak.signals import Signal


class Performance(BaseDetector):
    """Accuracy (classifiers) or MAE (regressors) worse than the baseline's."""

    name: ClassVar[str] = "performance"
    category: ClassVar[str] = "performance_degradation"
    reads: ClassVar[frozenset[str]] = frozenset({"prediction", "label"})
    aggregates: ClassVar[tuple[type[Any], ...]] = (PerformanceAggregate,)

    class Config(BaseDetector.Config):
        min_pairs: int = 100
        # per window, and every window is tested: at 1e-3 a deployment judged ~200 times
        # in a 17-minute clean run raised one false accuracy alarm in 7 such runs
        alpha: float = 1e-4
        min_accuracy_drop: float = 0.03
        min_error_increase: float = 0.10     # relative MAE increase

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        cur: PerformanceAggregate | None = ctx.window.get("performance")
        base: PerformanceAggregate | None = ctx.baseline("performance")
        n = self.config.min_pairs
        if cur is None or base is None or min(len(cur.pairs), len(base.pairs)) < n:
            return None
        now, before = summarize_pairs(cur.pairs), summarize_pairs(base.pairs)
        if now.task != before.task:
            return None
        facts = {"current": now.to_dict(), "baseline": before.to_dict()}
        if now.task == "classification" and now.accuracy is not None:
            assert before.accuracy is not None
            p = _one_sided_drop(before.accuracy, now.accuracy, before.n, now.n)
            drop = before.accuracy - now.accuracy
            if drop >= self.config.min_accuracy_drop and p < self.config.alpha:
                return [self.signal(
                    ctx, metric="accuracy", value=now.accuracy, threshold=before.accuracy,
                    message=f"accuracy {now.accuracy:.1%} vs {before.accuracy:.1%} "
                            f"on {now.n} labelled predictions",
                    evidence=cur.event_ids, facts={**facts, "p_value": p})]
            return []
        return self._regression(ctx, cur, base, facts)

    def _regression(self, ctx: DetectionContext, cur: PerformanceAggregate,
                    base: PerformanceAggregate, facts: dict[str, Any]) -> list[Signal]:
        now = _abs_errors(cur)
        before = _abs_errors(base)
        mae_now, mae_before = float(now.mean()), float(before.mean())
        p = float(sps.ttest_ind(now, before, equal_var=False, alternative="greater").pvalue)
        grew = mae_now > mae_before * (1 + self.config.min_error_increase)
        if grew and p < self.config.alpha:
            return [self.signal(
                ctx, metric="mae", value=mae_now, threshold=mae_before,
                message=f"MAE {mae_now:.4g} vs {mae_before:.4g} on {len(now)} labelled rows",
                evidence=cur.event_ids, facts={**facts, "p_value": p})]
        return []


def _abs_errors(agg: PerformanceAggregate) -> np.ndarray:
    return np.array([abs(float(o) - float(y)) for y, o, _ in agg.pairs
                     if y is not None and o is not None])


def _one_sided_drop(before: float, now: float, n1: int, n2: int) -> float:
    """p-value that accuracy fell from `before` (n1 rows) to `now` (n2 rows)."""
    pooled = (before * n1 + now * n2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(sps.norm.sf((before - now) / se))


class EstimatedPerformance(BaseDetector):
    """Expected accuracy from the model's own confidence (CBPE) fell below the baseline's."""

    name: ClassVar[str] = "estimated_performance"
    category: ClassVar[str] = "performance_degradation"
    reads: ClassVar[frozenset[str]] = frozenset({"prediction"})
    aggregates: ClassVar[tuple[type[Any], ...]] = (PerformanceAggregate,)

    class Config(BaseDetector.Config):
        min_predictions: int = 200
        alpha: float = 1e-4  # per window, as above
        min_drop: float = 0.03

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        cur: PerformanceAggregate | None = ctx.window.get("performance")
        base: PerformanceAggregate | None = ctx.baseline("performance")
        need = self.config.min_predictions
        if cur is None or base is None or min(cur.confidence_n, base.confidence_n) < need:
            return None
        now, before = cur.estimated_accuracy, base.estimated_accuracy
        assert now is not None and before is not None
        p = _one_sided_drop(before, now, base.confidence_n, cur.confidence_n)
        if before - now >= self.config.min_drop and p < self.config.alpha:
            return [self.signal(
                ctx, metric="estimated_accuracy", value=now, threshold=before,
                message=f"expected accuracy {now:.1%} vs {before:.1%} (from model confidence)",
                facts={"p_value": p, "predictions": cur.confidence_n})]
        return []
