"""Drift attribution: which prediction features moved most at onset, and how much each
moved the output (shift in the feature times the output's sensitivity to it)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from firebreak.events import Prediction
from firebreak.forensics.case import Case, Finding, utc
from firebreak.store.db import Database

MIN_ROWS = 20


def analyze(case: Case, db: Database) -> list[Finding]:
    preds = [e for e in case.events if isinstance(e, Prediction)]
    before = [p for p in preds if utc(p.ts) < case.onset]
    after = [p for p in preds if utc(p.ts) >= case.onset]
    if len(before) < MIN_ROWS or len(after) < MIN_ROWS:
        return []
    found = {name: _move(name, before, after) for name in _features(preds)}
    moves = {k: v for k, v in found.items() if v is not None}
    if not moves:
        return []
    total = sum(m["effect"] for m in moves.values()) or 1.0
    ranked = sorted(moves.items(), key=lambda kv: kv[1]["stat"], reverse=True)
    name, top = ranked[0]
    if top["stat"] < 0.1:
        return []
    versions_changed = {p.model_version for p in before} != {p.model_version for p in after}
    conf = (0.3 + 0.55 * top["stat"]) * (0.6 if versions_changed else 1.0)
    contributions = {k: round(v["effect"] / total, 3) for k, v in ranked}
    return [
        Finding(
            analyzer="drift_attribution",
            title=f"Feature {name} drifted at onset",
            cause=f"feature_drift:{name}",
            confidence=round(min(conf, 0.9), 3),
            summary=(
                f"{name} moved most (statistic {top['stat']:.2f}); it accounts for "
                f"{contributions[name]:.0%} of the estimated output shift."
            ),
            evidence_ids=case.evidence_for("prediction"),
            details={
                "features": {
                    k: {"stat": round(v["stat"], 4), "output_share": contributions[k]}
                    for k, v in ranked[:10]
                }
            },
        )
    ]


def _features(preds: list[Prediction]) -> list[str]:
    return sorted({k for p in preds[:500] for k in p.features})


def _output(p: Prediction) -> float:
    if p.score is not None:
        return float(p.score)
    return float(p.output) if isinstance(p.output, int | float) else 0.0


def _move(name: str, before: list[Prediction], after: list[Prediction]) -> dict[str, Any] | None:
    a = [p.features.get(name) for p in before]
    b = [p.features.get(name) for p in after]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in a + b):
        from scipy.stats import ks_2samp

        x, y = np.asarray(a, float), np.asarray(b, float)
        stat = float(ks_2samp(x, y).statistic)
        xs = np.concatenate([x, y])
        out = np.asarray([_output(p) for p in before + after])
        slope = float(np.polyfit(xs, out, 1)[0]) if xs.std() > 0 else 0.0
        return {"stat": stat, "effect": abs(slope * (y.mean() - x.mean()))}
    ca, cb = Counter(map(str, a)), Counter(map(str, b))
    tvd = 0.5 * sum(abs(ca[k] / len(a) - cb[k] / len(b)) for k in set(ca) | set(cb))
    return {"stat": tvd, "effect": tvd}
