"""Drift detectors: input features, missing-value spikes, and model outputs.

Each compares the window's profile with the reference's (or, without a reference, with
the merged recent history) column by column, with Benjamini–Hochberg control across
columns and a minimum number of rows, and raises one signal per window naming the
columns that moved.
"""

from __future__ import annotations

from typing import Any, ClassVar

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.compare import ColumnDrift, compare_profiles
from firebreak.monitor.tabular import FeatureAggregate, OutputAggregate, _ProfileAggregate
from firebreak.signals import Contributor, Signal


class _DriftConfig(BaseDetector.Config):
    alpha: float = 0.001            # FDR across the columns of one window
    min_rows: int = 200             # rows a window needs before it is judged
    max_evidence: int = 100


class _ProfileDrift(BaseDetector):
    """Shared logic: compare one profile aggregate with its baseline."""

    aggregate: ClassVar[type[_ProfileAggregate]] = FeatureAggregate
    metric: ClassVar[str] = ""
    Config = _DriftConfig

    def compare(self, ctx: DetectionContext
                ) -> tuple[Any, Any, dict[str, ColumnDrift]] | None:
        cur = ctx.window.get(self.aggregate.name)
        base = ctx.baseline(self.aggregate.name)
        cfg = self.config
        if cur is None or base is None or min(cur.profile.rows, base.profile.rows) < cfg.min_rows:
            return None
        # FeatureDrift and MissingValues read the same comparison: compute it once
        result = ctx.memo(
            ("compare", self.aggregate.name, cfg.alpha, cfg.min_rows),
            lambda: compare_profiles(base.profile, cur.profile, alpha=cfg.alpha,
                                     min_rows=cfg.min_rows))
        return cur, base, result

    def evidence(self, agg: Any, base: Any, cols: list[ColumnDrift], *, missing: bool
                 ) -> list[str]:
        """Event ids that show the change: missing values, or the first of new categories."""
        ids: list[str] = []
        for col in cols:
            if missing:
                ids.extend(agg.evidence.get(f"missing:{col.column}", []))
                continue
            seen = base.profile.columns[col.column].categories()
            for key, found in agg.evidence.items():
                name, _, value = key.partition("=")
                if name == col.column and value not in seen:
                    ids.extend(found)
        ids.extend(agg.evidence.get("sample", []))  # and a few events of the window
        return ids[: self.config.max_evidence]


class FeatureDrift(_ProfileDrift):
    """Input features whose distribution moved (KS for numbers, chi-square for categories)."""

    name: ClassVar[str] = "feature_drift"
    category: ClassVar[str] = "data_drift"
    reads: ClassVar[frozenset[str]] = frozenset({"prediction"})
    aggregates: ClassVar[tuple[type[Any], ...]] = (FeatureAggregate,)
    metric: ClassVar[str] = "drifted_features"

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        found = self.compare(ctx)
        if found is None:
            return None
        agg, base, result = found
        drifted = sorted((c for c in result.values() if c.drift), key=lambda c: c.q_value)
        if not drifted:
            return []
        judged = sum(1 for c in result.values() if c.kind != "insufficient")
        share = len(drifted) / max(judged, 1)
        return [self.signal(
            ctx, metric=self.metric, value=len(drifted), threshold=self.config.alpha,
            message=f"{len(drifted)} of {judged} columns drifted: "
                    + ", ".join(c.column for c in drifted[:5]),
            contributors=[_contributor(c) for c in drifted],
            evidence=self.evidence(agg, base, drifted, missing=False),
            facts={"drift_share": share, "columns": [c.column for c in drifted],
                   "details": {c.column: c.to_dict() for c in drifted[:20]}},
        )]


class MissingValues(_ProfileDrift):
    """Columns whose share of missing values rose significantly."""

    name: ClassVar[str] = "missing_values"
    category: ClassVar[str] = "data_drift"
    reads: ClassVar[frozenset[str]] = frozenset({"prediction"})
    aggregates: ClassVar[tuple[type[Any], ...]] = (FeatureAggregate,)
    metric: ClassVar[str] = "missing_rate"

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        found = self.compare(ctx)
        if found is None:
            return None
        agg, base, result = found
        spikes = sorted((c for c in result.values()
                         if c.missing_spike and c.missing_cur > c.missing_ref),
                        key=lambda c: c.missing_cur - c.missing_ref, reverse=True)
        if not spikes:
            return []
        top = spikes[0]
        return [self.signal(
            ctx, metric=self.metric, value=top.missing_cur, threshold=top.missing_ref,
            message=f"missing values rose in {len(spikes)} columns; {top.column}: "
                    f"{top.missing_ref:.1%} -> {top.missing_cur:.1%}",
            contributors=[Contributor(kind="feature", key=c.column, value=c.missing_cur,
                                      detail=f"was {c.missing_ref:.2%}") for c in spikes],
            evidence=self.evidence(agg, base, spikes, missing=True),
            facts={"columns": [c.column for c in spikes]},
        )]


class OutputDrift(FeatureDrift):
    """The model's outputs (prediction, score, confidence) changed distribution."""

    name: ClassVar[str] = "output_drift"
    aggregate: ClassVar[type[_ProfileAggregate]] = OutputAggregate
    aggregates: ClassVar[tuple[type[Any], ...]] = (OutputAggregate,)
    metric: ClassVar[str] = "output_drift"


def _contributor(c: ColumnDrift) -> Contributor:
    detail = f"{c.test}={c.statistic:.4g} p={c.p_value:.2g}"
    if c.extra.get("unseen_share"):
        detail += f" unseen={c.extra['unseen_share']:.1%}"
    return Contributor(kind="feature", key=c.column, value=c.distance, detail=detail)
