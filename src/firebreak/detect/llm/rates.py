"""When is a rate in a window a real rise over its baseline, and not noise?

A one-sided binomial test of the window's count against the baseline rate (smoothed so a
clean reference with zero hits still has a small rate), plus floors on the count and on
the effect, because the monitor evaluates every window, forever: a detector must not page
on one odd request nor on a tiny but "significant" wobble.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binom


@dataclass(frozen=True)
class RateTest:
    count: int
    n: int
    rate: float
    baseline: float
    p_value: float
    fires: bool


def rate_rise(count: int, n: int, base_count: int, base_n: int, *, min_count: int = 5,
              min_rate: float = 0.0, min_ratio: float = 2.0, min_lift: float = 0.01,
              alpha: float = 1e-4) -> RateTest:
    """Test whether count/n rose over base_count/base_n (see module docstring)."""
    baseline = (base_count + 0.5) / (base_n + 1.0)
    rate = count / n if n else 0.0
    p_value = float(binom.sf(count - 1, n, min(baseline, 0.999))) if n else 1.0
    fires = (n > 0 and count >= min_count and rate >= min_rate
             and rate >= min_ratio * baseline and rate - baseline >= min_lift
             and p_value < alpha)
    return RateTest(count, n, rate, baseline, p_value, fires)


def baseline_counts(aggregates: list[object], counter: str) -> tuple[int, int]:
    """(count, n) summed over baseline aggregates that carry a Tally and an `n`."""
    count = sum(getattr(a, "tally").counts.get(counter, 0) for a in aggregates)  # noqa: B009
    n = sum(getattr(a, "n") for a in aggregates)  # noqa: B009
    return count, n
