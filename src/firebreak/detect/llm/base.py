"""A base for detectors that watch the rate of one counter of a Tally aggregate."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.llm.rates import rate_rise
from firebreak.signals import Contributor, Signal


class RateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_count: int = 5
    min_rate: float = 0.0
    min_ratio: float = 2.0
    min_lift: float = 0.01
    alpha: float = 1e-4


class RateDetector(BaseDetector):
    """Fires when `counter` in aggregate `source` rises over the baseline's rate."""

    source: ClassVar[str] = ""
    counter: ClassVar[str] = ""
    metric: ClassVar[str] = ""
    what: ClassVar[str] = ""
    Config = RateConfig

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        agg = ctx.window.get(self.source)
        if agg is None or agg.n == 0:
            return None
        base = ctx.baseline(self.source)
        base_count = base.tally.counts.get(self.counter, 0) if base is not None else 0
        base_n = base.n if base is not None else 0
        c = self.config
        test = rate_rise(agg.tally.counts.get(self.counter, 0), agg.n, base_count, base_n,
                         min_count=c.min_count, min_rate=c.min_rate, min_ratio=c.min_ratio,
                         min_lift=c.min_lift, alpha=c.alpha)
        if not test.fires:
            return []
        return [self.signal(
            ctx, metric=self.metric, value=test.rate, threshold=test.baseline * c.min_ratio,
            message=(f"{self.what}: {test.count} of {test.n} ({test.rate:.1%}) against a "
                     f"baseline of {test.baseline:.2%} (p={test.p_value:.1e})"),
            contributors=self.contributors(agg), evidence=agg.tally.ids.get(self.counter, []),
            facts={"count": test.count, "n": test.n, "rate": test.rate,
                   "baseline": test.baseline, "p_value": test.p_value, **self.facts(agg)})]

    def contributors(self, agg: Any) -> list[Contributor]:
        return []

    def facts(self, agg: Any) -> dict[str, Any]:
        return {}
