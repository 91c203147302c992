"""Operational anomalies: latency, error rate, consumption, consumption per API key.

Baselines are robust bands (median / MAD) over the deployment's recent windows, so one
bad window in the history does not widen them and one slow request does not move a
window's quantile: quantiles need enough events (p99 needs 1000) before they are judged.
"""

from __future__ import annotations

from typing import Any, ClassVar

from firebreak.detect import stats
from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.robust import robust_band
from firebreak.monitor.ops import OpsAggregate
from firebreak.signals import Contributor, Signal

_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def _ops(window: Any) -> OpsAggregate | None:
    return None if window is None else window.get("ops")


class _OpsDetector(BaseDetector):
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call", "prediction"})
    aggregates: ClassVar[tuple[type[Any], ...]] = (OpsAggregate,)

    def history_ops(self, ctx: DetectionContext) -> list[tuple[Any, OpsAggregate]]:
        return [(w, o) for w in ctx.history if (o := _ops(w)) is not None and o.requests]


class Latency(_OpsDetector):
    """Latency p50 / p95 / p99 above the robust band of recent windows."""

    name: ClassVar[str] = "latency"
    category: ClassVar[str] = "availability"

    class Config(BaseDetector.Config):
        z: float = 6.0
        rel_floor: float = 1.0        # and at least twice the median window
        abs_floor_ms: float = 100.0   # and 100 ms more: load noise must not page anyone
        min_events_per_tail: int = 10  # p95 needs 200 events, p99 1000

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        ops = _ops(ctx.window)
        if ops is None or ops.latency.kll is None:
            return None
        n = ops.latency.numeric_count
        signals, judged = [], False
        for label, q in _QUANTILES.items():
            if n * (1 - q) < self.config.min_events_per_tail:
                continue
            past = [o.latency.kll.get_quantile(q) for _, o in self.history_ops(ctx)
                    if o.latency.kll is not None
                    and o.latency.numeric_count * (1 - q) >= self.config.min_events_per_tail]
            band = robust_band(past, z=self.config.z, rel_floor=self.config.rel_floor,
                               abs_floor=self.config.abs_floor_ms)
            if band is None:
                continue
            judged = True
            value = float(ops.latency.kll.get_quantile(q))
            if value > band.upper:
                signals.append(self.signal(
                    ctx, metric=f"latency_{label}_ms", value=value, threshold=band.upper,
                    message=f"latency {label} {value:.0f} ms, baseline {band.center:.0f} ms",
                    evidence=[i for _, i in sorted(ops.slow, reverse=True)],
                    facts={"baseline_ms": band.center, "events": n}))
        return signals if judged else None


class ErrorRate(_OpsDetector):
    """Share of failed requests well above the deployment's usual rate."""

    name: ClassVar[str] = "error_rate"
    category: ClassVar[str] = "availability"

    class Config(BaseDetector.Config):
        min_events: int = 50
        min_errors: int = 5
        alpha: float = 1e-4
        abs_floor: float = 0.02        # at least 2 points above the baseline rate
        rel_floor: float = 1.0         # and double it

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        ops = _ops(ctx.window)
        if ops is None or ops.requests < self.config.min_events:
            return None
        past = self.history_ops(ctx)
        base_errors = sum(o.errors for _, o in past)
        base_n = sum(o.requests for _, o in past)
        if base_n < self.config.min_events:
            return None  # no baseline yet: a new deployment's usual rate is unknown
        rate = ops.errors / ops.requests
        base = base_errors / base_n if base_n else 0.0
        limit = base + max(self.config.abs_floor, self.config.rel_floor * base)
        p = stats.two_proportions(base_errors, base_n, ops.errors, ops.requests,
                                  alternative="greater")
        if ops.errors >= self.config.min_errors and rate > limit and p < self.config.alpha:
            return [self.signal(
                ctx, metric="error_rate", value=rate, threshold=limit,
                message=f"error rate {rate:.1%} (baseline {base:.1%}) over {ops.requests} calls",
                evidence=ops.error_ids, facts={"errors": ops.errors, "requests": ops.requests,
                                               "baseline_rate": base, "p_value": p})]
        return []


class Consumption(_OpsDetector):
    """Tokens and cost per minute above the robust band (runaway spend)."""

    name: ClassVar[str] = "consumption"
    category: ClassVar[str] = "unbounded_consumption"
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})

    class Config(BaseDetector.Config):
        z: float = 6.0
        rel_floor: float = 1.0        # at least double the usual rate
        abs_floor_tokens: float = 1000.0
        abs_floor_usd: float = 0.05

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        ops = _ops(ctx.window)
        past = self.history_ops(ctx)
        if ops is None or not ops.requests or len(past) < 5:
            return None
        signals = []
        for metric, get, floor in (
            ("tokens_per_minute", lambda w, o: o.tokens / w.minutes, self.config.abs_floor_tokens),
            ("cost_usd_per_minute", lambda w, o: o.cost_usd / w.minutes, self.config.abs_floor_usd),
        ):
            band = robust_band([get(w, o) for w, o in past], z=self.config.z,
                               rel_floor=self.config.rel_floor, abs_floor=floor)
            value = get(ctx.window, ops)
            if band is not None and value > band.upper:
                signals.append(self.signal(
                    ctx, metric=metric, value=value, threshold=band.upper,
                    message=f"{metric.replace('_', ' ')} {value:.4g}, baseline {band.center:.4g}",
                    contributors=_top_keys(ops), evidence=_key_evidence(ops),
                    facts={"baseline": band.center, "top_api_keys": _top_key_names(ops)}))
        return signals


class KeyConsumption(_OpsDetector):
    """One API key consuming far more than any key usually does (denial of wallet)."""

    name: ClassVar[str] = "api_key_consumption"
    category: ClassVar[str] = "unbounded_consumption"
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})

    class Config(BaseDetector.Config):
        z: float = 6.0
        rel_floor: float = 2.0        # three times the usual heaviest key
        abs_floor_tokens: float = 2000.0

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        ops = _ops(ctx.window)
        past = self.history_ops(ctx)
        if ops is None or len(past) < 5:
            return None
        heaviest = [max(o.key_consumption().values(), default=0) / w.minutes for w, o in past]
        band = robust_band(heaviest, z=self.config.z, rel_floor=self.config.rel_floor,
                           abs_floor=self.config.abs_floor_tokens)
        if band is None:
            return None
        over = {k: v / ctx.window.minutes for k, v in ops.key_consumption().items()
                if v / ctx.window.minutes > band.upper}
        if not over:
            return []
        top = max(over.values())
        keys = sorted(over, key=over.__getitem__, reverse=True)
        return [self.signal(
            ctx, metric="api_key_tokens_per_minute", value=top, threshold=band.upper,
            message=f"{len(over)} API key(s) over {band.upper:.0f} tokens/min; top {keys[0]}",
            contributors=[Contributor(kind="api_key", key=k, value=over[k]) for k in keys],
            evidence=[i for k in keys for i in ops.key_ids.get(k, [])],
            facts={"top_api_keys": keys[:10], "baseline": band.center})]


def _top_key_names(ops: OpsAggregate, n: int = 5) -> list[str]:
    usage = ops.key_consumption()
    return sorted(usage, key=usage.__getitem__, reverse=True)[:n]


def _top_keys(ops: OpsAggregate) -> list[Contributor]:
    usage = ops.key_consumption()
    return [Contributor(kind="api_key", key=k, value=usage[k]) for k in _top_key_names(ops)]


def _key_evidence(ops: OpsAggregate) -> list[str]:
    return [i for k in _top_key_names(ops) for i in ops.key_ids.get(k, [])]
