"""Robust baselines: median / MAD bands over recent windows that one outlier cannot move."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAD_SCALE = 1.4826  # MAD of a normal sample times this estimates its standard deviation


@dataclass(frozen=True)
class Band:
    """A baseline centre and the upper limit a new value must exceed to count as anomalous."""

    center: float
    upper: float
    spread: float
    n: int


def robust_band(values: Sequence[float], *, z: float, rel_floor: float, abs_floor: float
                ) -> Band | None:
    """Median + max(z·MAD·1.4826, rel_floor·median, abs_floor); None below 5 values."""
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if arr.size < 5:
        return None
    center = float(np.median(arr))
    spread = float(np.median(np.abs(arr - center)) * MAD_SCALE)
    margin = max(z * spread, rel_floor * abs(center), abs_floor)
    return Band(center, center + margin, spread, int(arr.size))
