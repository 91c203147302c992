"""Two-sample statistics computed from sketches, and multiple-testing control.

Numbers: the Kolmogorov–Smirnov distance is evaluated from both KLL sketches' CDFs at the
union of their quantile points (DataSketches' own `ks_test` misreads mostly-tied columns),
its p-value from the asymptotic Kolmogorov law on the effective sample size; PSI on the
reference's deciles; Wasserstein-1 from matched quantiles, divided by the reference's
spread. Categories: a 2×K chi-square contingency test (rare categories pooled so the
approximation holds), Bonferroni-combined with a test of the share of unseen categories
(Good–Turing null), and the Jensen–Shannon distance. Proportions (missing values, error
rates): a two-proportion z-test. Benjamini–Hochberg controls the false discovery rate
across the columns of one window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from firebreak.monitor.profile import ColumnProfile

_GRID = np.linspace(0.0, 1.0, 201)
_EPS = 1e-6


@dataclass(frozen=True)
class TestResult:
    """One column's test: the statistic that decided, its p-value and a distance to show."""

    test: str
    statistic: float
    p_value: float
    distance: float
    extra: dict[str, float]


def ks_numeric(ref: ColumnProfile, cur: ColumnProfile) -> TestResult:
    """KS (decides), plus PSI and normalised Wasserstein (reported), from two KLL sketches."""
    a, b = ref.kll, cur.kll
    assert a is not None and b is not None
    qa = np.asarray(a.get_quantiles(_GRID))
    qb = np.asarray(b.get_quantiles(_GRID))
    points = np.unique(np.concatenate([qa, qb]))
    fa = np.asarray(a.get_cdf(points.tolist(), True)[:-1])
    fb = np.asarray(b.get_cdf(points.tolist(), True)[:-1])
    d = float(np.max(np.abs(fa - fb)))
    n, m = float(a.n), float(b.n)
    p = kolmogorov_p(d, n * m / (n + m))
    spread = float(np.std(qa)) or float(qa[-1] - qa[0]) or 1.0
    wasserstein = float(np.mean(np.abs(qa - qb))) / spread
    return TestResult("ks", d, p, d, {"psi": _psi(a, b, qa), "wasserstein": wasserstein})


def kolmogorov_p(d: float, n_eff: float) -> float:
    """Asymptotic two-sample KS p-value with Stephens' small-sample correction."""
    if d <= 0 or n_eff <= 0:
        return 1.0
    root = math.sqrt(n_eff)
    return float(sps.kstwobign.sf((root + 0.12 + 0.11 / root) * d))


def _psi(a: object, b: object, qa: np.ndarray) -> float:
    edges = np.unique(qa[::20][1:-1])  # reference deciles
    if edges.size == 0:
        return 0.0
    pa = np.diff(np.concatenate([[0.0], a.get_cdf(edges.tolist())]))  # type: ignore[attr-defined]
    pb = np.diff(np.concatenate([[0.0], b.get_cdf(edges.tolist())]))  # type: ignore[attr-defined]
    pa, pb = np.clip(pa, _EPS, None), np.clip(pb, _EPS, None)
    return float(np.sum((pb - pa) * np.log(pb / pa)))


def chi2_categorical(ref: ColumnProfile, cur: ColumnProfile) -> TestResult:
    """2×K chi-square on category counts, Jensen–Shannon distance, unseen-category share."""
    rc, cc = ref.categories(), cur.categories()
    n, m = sum(rc.values()), sum(cc.values())
    if n == 0 or m == 0:
        return TestResult("chi2", 0.0, 1.0, 0.0, {"unseen_share": 0.0})
    keys = sorted(set(rc) | set(cc))
    table = np.array([[rc.get(k, 0) for k in keys], [cc.get(k, 0) for k in keys]], float)
    unseen = float(sum(cc[k] for k in cc if k not in rc)) / m
    pooled = _pool_rare(table, min(n, m) / (n + m))
    stat, p = 0.0, 1.0
    if pooled.shape[1] >= 2:
        stat, p, _, _ = sps.chi2_contingency(pooled, correction=False)
    pa, pb = table[0] / n, table[1] / m
    js = float(_js(pa, pb))
    p_unseen = unseen_p_value(rc, n, round(unseen * m), m)
    extra = {"unseen_share": unseen, "unseen_p": p_unseen, "chi2_p": float(p)}
    return TestResult("chi2", float(stat), min(1.0, 2 * min(float(p), p_unseen)), js, extra)


def unseen_p_value(ref_counts: dict[str, int], n: int, unseen: int, m: int,
                   min_share: float = 0.005) -> float:
    """p-value that `unseen` of `m` current values fall outside the reference's categories.

    Under no change, the share of values never seen in a sample of `n` is about f1 / n
    (Good–Turing; f1 = categories seen once); an upper bound of it is the null rate, and
    shares under `min_share` are not judged at all (rare long-tail values, not a change).
    """
    if m == 0 or unseen / m < min_share:
        return 1.0
    f1 = sum(1 for c in ref_counts.values() if c == 1)
    null_rate = min(1.0, max(f1 + 3 * math.sqrt(f1 + 1), 3.0) / n)
    return float(sps.binom.sf(unseen - 1, m, null_rate))


def _pool_rare(table: np.ndarray, smaller_share: float) -> np.ndarray:
    """Merge categories whose expected count in the smaller sample is under 5."""
    totals = table.sum(axis=0)
    keep = totals * smaller_share >= 5
    if keep.all():
        return table
    other = table[:, ~keep].sum(axis=1, keepdims=True)
    out = table[:, keep]
    if other.sum() * smaller_share >= 5:
        out = np.concatenate([out, other], axis=1)
    return out


def _js(pa: np.ndarray, pb: np.ndarray) -> float:
    mid = (pa + pb) / 2

    def kl(p: np.ndarray) -> float:
        mask = p > 0
        return float(np.sum(p[mask] * np.log2(p[mask] / mid[mask])))

    return math.sqrt(max(0.0, (kl(pa) + kl(pb)) / 2))


def two_proportions(k1: int, n1: int, k2: int, n2: int, *, alternative: str = "two-sided"
                    ) -> float:
    """p-value that k2/n2 differs from (or, 'greater', exceeds) k1/n1 (pooled z-test)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k2 / n2 - k1 / n1) / se
    if alternative == "greater":
        return float(sps.norm.sf(z))
    return float(2 * sps.norm.sf(abs(z)))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted p-values (q-values): reject where q <= alpha keeps the FDR at alpha."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return []
    order = np.argsort(p)
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out.tolist()
