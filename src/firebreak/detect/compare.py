"""Column-by-column comparison of two dataset profiles, with FDR control across columns.

Every column gets a distribution test (KS for numbers, chi-square for categories) and a
missing-rate test; all p-values of one comparison form one Benjamini–Hochberg family, so
a 50-column deployment does not page on noise. Columns with fewer than `min_rows` present
values on either side are not judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from firebreak.detect import stats
from firebreak.monitor.profile import ColumnProfile, DatasetProfile


@dataclass
class ColumnDrift:
    """One column's verdict: `drift` (distribution), `missing_spike`, and the numbers."""

    column: str
    kind: str                      # numeric | categorical | insufficient
    test: str
    statistic: float
    p_value: float
    distance: float
    q_value: float = 1.0
    missing_ref: float = 0.0
    missing_cur: float = 0.0
    missing_p: float = 1.0
    missing_q: float = 1.0
    drift: bool = False
    missing_spike: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.drift or self.missing_spike

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


def compare_profiles(ref: DatasetProfile, cur: DatasetProfile, *, alpha: float,
                     min_rows: int = 30, columns: Iterable[str] | None = None
                     ) -> dict[str, ColumnDrift]:
    """Test every shared column of `cur` against `ref`; BH at `alpha` over all tests."""
    names = [c for c in (columns or cur.columns) if c in ref.columns and c in cur.columns]
    out = {name: _column(name, ref.columns[name], cur.columns[name], min_rows)
           for name in names}
    tests = [(r, "dist") for r in out.values() if r.kind != "insufficient"]
    tests += [(r, "missing") for r in out.values()]
    q = stats.benjamini_hochberg(
        [r.p_value if which == "dist" else r.missing_p for r, which in tests])
    for (r, which), qv in zip(tests, q, strict=True):
        if which == "dist":
            r.q_value, r.drift = qv, qv <= alpha
        else:
            r.missing_q, r.missing_spike = qv, qv <= alpha
    return out


def _column(name: str, ref: ColumnProfile, cur: ColumnProfile, min_rows: int) -> ColumnDrift:
    miss = _missing(ref, cur)
    numeric = ref.is_numeric and cur.is_numeric
    present_ref = ref.numeric_count if numeric else ref.categorical_count
    present_cur = cur.numeric_count if numeric else cur.categorical_count
    if min(present_ref, present_cur) < min_rows:
        return ColumnDrift(name, "insufficient", "none", 0.0, 1.0, 0.0, **miss)
    if numeric:
        res = stats.ks_numeric(ref, cur)
    else:
        if ref.freq is None or cur.freq is None:
            return ColumnDrift(name, "insufficient", "none", 0.0, 1.0, 0.0, **miss)
        res = stats.chi2_categorical(ref, cur)
    kind = "numeric" if numeric else "categorical"
    return ColumnDrift(name, kind, res.test, res.statistic, res.p_value, res.distance,
                       extra=res.extra, **miss)


def _missing(ref: ColumnProfile, cur: ColumnProfile) -> dict[str, float]:
    return {
        "missing_ref": ref.missing / ref.count if ref.count else 0.0,
        "missing_cur": cur.missing / cur.count if cur.count else 0.0,
        "missing_p": stats.two_proportions(ref.missing, ref.count, cur.missing, cur.count),
    }
