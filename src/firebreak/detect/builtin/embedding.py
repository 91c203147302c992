"""Embedding drift: MMD between the window's and the reference's embedding samples.

Both samples are bounded (bottom-k, see monitor/embeddings.py). The unbiased MMD² with a
Gaussian kernel (median-distance bandwidth) is compared with its permutation distribution;
the detector fires only when the observed value sits `z` permutation standard deviations
above the permutation mean, which random windows of clean traffic essentially never do.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.monitor.embeddings import EmbeddingAggregate
from firebreak.signals import Signal


def mmd2(kernel: np.ndarray, first: np.ndarray) -> float:
    """Unbiased MMD² from a joint kernel matrix and a boolean mask of the first sample."""
    second = ~first
    n, m = int(first.sum()), int(second.sum())
    kxx = kernel[np.ix_(first, first)]
    kyy = kernel[np.ix_(second, second)]
    kxy = kernel[np.ix_(first, second)]
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())


def mmd_test(x: np.ndarray, y: np.ndarray, *, permutations: int, seed: int = 0
             ) -> tuple[float, float]:
    """(MMD², z-score against the permutation distribution)."""
    joint = np.vstack([x, y])
    sq = np.sum(joint**2, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * joint @ joint.T, 0.0)
    bandwidth = float(np.median(dist[dist > 0])) if np.any(dist > 0) else 1.0
    kernel = np.exp(-dist / bandwidth)
    first = np.zeros(len(joint), dtype=bool)
    first[: len(x)] = True
    observed = mmd2(kernel, first)
    rng = np.random.default_rng(seed)
    null = np.array([mmd2(kernel, rng.permutation(first)) for _ in range(permutations)])
    spread = float(null.std()) or 1e-12
    return observed, (observed - float(null.mean())) / spread


class EmbeddingDrift(BaseDetector):
    """Embeddings of inputs moved away from the reference's."""

    name: ClassVar[str] = "embedding_drift"
    category: ClassVar[str] = "data_drift"
    reads: ClassVar[frozenset[str]] = frozenset({"prediction", "llm.call"})
    aggregates: ClassVar[tuple[type[Any], ...]] = (EmbeddingAggregate,)

    class Config(BaseDetector.Config):
        min_samples: int = 50
        permutations: int = 100
        z: float = 8.0

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        cur: EmbeddingAggregate | None = ctx.window.get("embeddings")
        base: EmbeddingAggregate | None = ctx.baseline("embeddings")
        if cur is None or base is None:
            return None
        x, y = base.matrix(), cur.matrix()
        if min(len(x), len(y)) < self.config.min_samples or x.shape[1] != y.shape[1]:
            return None
        value, z = mmd_test(x, y, permutations=self.config.permutations)
        if z < self.config.z:
            return []
        return [self.signal(
            ctx, metric="embedding_mmd2", value=value, threshold=self.config.z,
            message=f"embeddings drifted (MMD² {value:.4f}, {z:.1f} σ above chance)",
            evidence=cur.event_ids(), facts={"z": z, "samples": [len(x), len(y)]})]
