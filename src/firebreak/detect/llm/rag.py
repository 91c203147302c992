"""RAG index integrity: documents with hidden instructions, near-duplicates of flagged
documents, bursts from one source, and embeddings that are outliers against the index.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.llm.aggregates import Tally, _trim
from firebreak.detect.llm.rates import rate_rise
from firebreak.detect.llm.text import words
from firebreak.monitor.base import DeploymentMemory
from firebreak.signals import Contributor, Signal

SAMPLE = 256
FLAGGED_MEMORY = 200


def shingles(text: str, k: int = 3) -> frozenset[str]:
    w = words(text)
    return frozenset(" ".join(w[i:i + k]) for i in range(max(len(w) - k + 1, 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class RagAggregate:
    """rag.document events: per-source counts, flagged and near-duplicate documents, and a
    bounded sample of embeddings (with ids) for outlier scoring."""

    name: ClassVar[str] = "rag_docs"
    kinds: ClassVar[frozenset[str]] = frozenset({"rag.document"})

    def __init__(self) -> None:
        self.n = 0
        self.tally = Tally()
        self.sources: Counter[str] = Counter()
        self.flagged_sources: Counter[str] = Counter()
        self.embeddings: list[tuple[str, str, list[float]]] = []  # (doc_id, source, vector)
        self.seen = 0

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        from firebreak.scan import ScanContext, scan_all

        flagged: list[frozenset[str]] = memory.extras.setdefault("rag_flagged", [])
        for e in events:
            if e.kind != "rag.document" or e.operation != "upsert":
                continue
            self.n += 1
            self.sources[e.source] += 1
            sig = shingles(e.text)
            verdicts = scan_all(e.text[:20_000], ScanContext(target="chunk", doc_id=e.doc_id,
                                                              source=e.source))
            if any(v.counted and v.label in ("indirect_injection", "injection", "jailbreak")
                   for v in verdicts):
                self.tally.add("flagged", e.event_id)
                self.flagged_sources[e.source] += 1
                flagged.append(sig)
                del flagged[:-FLAGGED_MEMORY]
            elif any(jaccard(sig, f) >= 0.6 for f in flagged):
                self.tally.add("near_duplicate", e.event_id)
                self.flagged_sources[e.source] += 1
            if e.embedding:
                self._sample(e.doc_id, e.source, e.embedding)
        self.sources = _trim(self.sources)

    def _sample(self, doc_id: str, source: str, vector: list[float]) -> None:
        self.seen += 1  # reservoir sampling keeps a uniform sample of SAMPLE vectors
        if len(self.embeddings) < SAMPLE:
            self.embeddings.append((doc_id, source, vector))
        else:
            j = random.randrange(self.seen)
            if j < SAMPLE:
                self.embeddings[j] = (doc_id, source, vector)

    def merge(self, other: Self) -> Self:
        out = type(self)()
        out.n, out.tally = self.n + other.n, self.tally.merge(other.tally)
        out.sources = _trim(self.sources + other.sources)
        out.flagged_sources = _trim(self.flagged_sources + other.flagged_sources)
        pool = self.embeddings + other.embeddings
        out.embeddings = pool if len(pool) <= SAMPLE else random.sample(pool, SAMPLE)
        out.seen = self.seen + other.seen
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "tally": self.tally.to_dict(), "sources": dict(self.sources),
                "flagged_sources": dict(self.flagged_sources),
                "embeddings": self.embeddings, "seen": self.seen}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = cls()
        out.n, out.tally = int(data["n"]), Tally.from_dict(data["tally"])
        out.sources = Counter(data["sources"])
        out.flagged_sources = Counter(data["flagged_sources"])
        out.embeddings = [tuple(e) for e in data["embeddings"]]  # type: ignore[misc]
        out.seen = int(data["seen"])
        return out


class RagPoisoning(BaseDetector):
    """Documents with hidden instructions (or near-copies of one) entering a RAG index."""

    name: ClassVar[str] = "rag_poisoning"
    category: ClassVar[str] = "rag_poisoning"
    reads: ClassVar[frozenset[str]] = frozenset({"rag.document"})
    aggregates: ClassVar[tuple[type, ...]] = (RagAggregate,)

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_flagged: int = 3
        min_lift: float = 0.25
        alpha: float = 1e-4

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        agg, base = ctx.window.get("rag_docs"), ctx.baseline("rag_docs")
        if agg is None or agg.n == 0:
            return None
        base_flagged = sum(base.flagged_sources.values()) if base is not None else 0
        base_n = base.n if base is not None else 0
        c = self.config
        # A source is poisoned when its share of flagged documents stands out from the
        # index's usual rate (scanners flag some clean documents too).
        hits = []
        for source, flagged in agg.flagged_sources.most_common():
            test = rate_rise(flagged, agg.sources.get(source, flagged), base_flagged, base_n,
                             min_count=c.min_flagged, min_lift=c.min_lift, alpha=c.alpha)
            if test.fires:
                hits.append((source, flagged, test))
        if not hits:
            return []
        source, flagged, test = hits[0]
        return [self.signal(
            ctx, metric="poisoned_documents", value=test.rate, threshold=test.baseline,
            message=f"{flagged} of {agg.sources.get(source, flagged)} new documents from "
                    f"{source!r} carry instructions for the model (usual rate "
                    f"{test.baseline:.0%})",
            contributors=[Contributor(kind="source", key=s, value=float(n)) for s, n, _ in hits],
            evidence=agg.tally.ids.get("flagged", []) + agg.tally.ids.get("near_duplicate", []),
            facts={"poisoned_source": source, "top_sources": [s for s, _, _ in hits]})]


class RagManipulation(BaseDetector):
    """A burst of documents from one source, or embeddings far from the index's profile."""

    name: ClassVar[str] = "rag_manipulation"
    category: ClassVar[str] = "embedding_manipulation"
    reads: ClassVar[frozenset[str]] = frozenset({"rag.document"})
    aggregates: ClassVar[tuple[type, ...]] = (RagAggregate,)

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_burst: int = 20
        burst_share: float = 0.5
        outlier_quantile: float = 0.99
        min_outliers: int = 3
        alpha: float = 1e-4

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        agg, base = ctx.window.get("rag_docs"), ctx.baseline("rag_docs")
        if agg is None or agg.n == 0 or base is None or base.n == 0:
            return None
        return self._burst(ctx, agg, base) + self._outliers(ctx, agg, base)

    def _burst(self, ctx: DetectionContext, agg: Any, base: Any) -> list[Signal]:
        source, count = agg.sources.most_common(1)[0]
        test = rate_rise(count, agg.n, base.sources.get(source, 0), base.n,
                         min_count=self.config.min_burst, min_rate=self.config.burst_share,
                         alpha=self.config.alpha)
        if not test.fires:
            return []
        return [self.signal(ctx, metric="source_burst", value=test.rate, threshold=test.baseline,
                            message=f"burst of {count} documents from source {source!r}",
                            contributors=[Contributor(kind="source", key=source, value=count)],
                            facts={"source": source})]

    def _outliers(self, ctx: DetectionContext, agg: Any, base: Any) -> list[Signal]:
        if len(base.embeddings) < 30 or not agg.embeddings:
            return []
        ref = np.asarray([e[2] for e in base.embeddings], dtype=float)
        centre = ref.mean(axis=0)
        cut = float(np.quantile(np.linalg.norm(ref - centre, axis=1),
                                self.config.outlier_quantile))
        cur = np.asarray([e[2] for e in agg.embeddings], dtype=float)
        far = np.linalg.norm(cur - centre, axis=1) > cut * 1.5
        hits = [agg.embeddings[i] for i in np.flatnonzero(far)]
        if len(hits) < self.config.min_outliers:
            return []
        sources = Counter(h[1] for h in hits)
        return [self.signal(
            ctx, metric="embedding_outliers", value=len(hits), threshold=self.config.min_outliers,
            message=f"{len(hits)} document embeddings lie far outside the index's profile",
            contributors=[Contributor(kind="source", key=s, value=float(c))
                          for s, c in sources.most_common(5)]
            + [Contributor(kind="document", key=h[0]) for h in hits[:10]],
            facts={"documents": [h[0] for h in hits[:50]]})]
