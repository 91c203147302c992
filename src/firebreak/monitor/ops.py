"""Operational aggregate: latency quantiles, errors, tokens, cost and consumption per key.

Reads LLM calls and predictions. Latency goes into a KLL sketch; tokens and cost are
summed, in total and per API key (a frequent-items sketch weighted by tokens, so the
heaviest keys are known exactly and the rest bounded). Evidence: error events, the
slowest events and a few events of each heavy key.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from firebreak.monitor.base import DeploymentMemory, capped_extend
from firebreak.monitor.profile import ColumnProfile

EVIDENCE = 50


class OpsAggregate:
    """Per-window operational counters (see module docstring)."""

    name: ClassVar[str] = "ops"
    kinds: ClassVar[frozenset[str]] = frozenset({"llm.call", "prediction"})

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.tokens = 0
        self.cost_usd = 0.0
        self.latency = ColumnProfile()
        self.key_tokens = ColumnProfile()   # categories = API keys, weights = tokens
        self.key_requests: Counter[str] = Counter()
        self.error_ids: list[str] = []
        self.slow: list[tuple[float, str]] = []    # min-heap of the slowest events
        self.key_ids: dict[str, list[str]] = {}

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        rows = [e for e in events if e.kind in self.kinds]
        if not rows:
            return
        self.requests += len(rows)
        latency = np.array([e.latency_ms if e.latency_ms is not None else np.nan for e in rows])
        self.latency.update(latency)
        per_key: Counter[str] = Counter()
        for e in rows:
            if e.status == "error":
                self.errors += 1
                if len(self.error_ids) < EVIDENCE:
                    self.error_ids.append(e.event_id)
            if e.kind == "llm.call":
                self._fold_llm(e, per_key)
        if per_key:
            self.key_tokens.update_counts(per_key.items())
        self._fold_slow(latency, rows)

    def _fold_llm(self, e: Any, per_key: Counter[str]) -> None:
        tokens = (e.input_tokens or 0) + (e.output_tokens or 0)
        self.tokens += tokens
        self.cost_usd += e.cost_usd or 0.0
        if e.api_key_id:
            per_key[e.api_key_id] += tokens
            self.key_requests[e.api_key_id] += 1
            ids = self.key_ids.setdefault(e.api_key_id, [])
            if len(ids) < 5 and len(self.key_ids) <= 1000:
                ids.append(e.event_id)

    def _fold_slow(self, latency: np.ndarray, rows: Sequence[Any]) -> None:
        if np.isnan(latency).all():
            return
        top = np.argsort(np.nan_to_num(latency, nan=-1.0))[-EVIDENCE:]
        for i in top:
            if not np.isnan(latency[i]):
                item = (float(latency[i]), rows[int(i)].event_id)
                if len(self.slow) < EVIDENCE:
                    heapq.heappush(self.slow, item)
                elif item > self.slow[0]:
                    heapq.heapreplace(self.slow, item)

    def key_consumption(self) -> dict[str, int]:
        """Tokens per API key in this window."""
        return self.key_tokens.categories()

    def merge(self, other: Self) -> Self:
        out = type(self)()
        out.requests = self.requests + other.requests
        out.errors = self.errors + other.errors
        out.tokens = self.tokens + other.tokens
        out.cost_usd = self.cost_usd + other.cost_usd
        out.latency = self.latency.merge(other.latency)
        out.key_tokens = self.key_tokens.merge(other.key_tokens)
        out.key_requests = self.key_requests + other.key_requests
        out.error_ids = list(self.error_ids)
        capped_extend(out.error_ids, other.error_ids, EVIDENCE)
        out.slow = heapq.nlargest(EVIDENCE, self.slow + other.slow)
        heapq.heapify(out.slow)
        out.key_ids = {k: list(v) for k, v in self.key_ids.items()}
        for key, ids in other.key_ids.items():
            capped_extend(out.key_ids.setdefault(key, []), ids, 5)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "tokens": self.tokens,
                "cost_usd": self.cost_usd, "latency": self.latency.to_dict(),
                "key_tokens": self.key_tokens.to_dict(), "key_requests": dict(self.key_requests),
                "error_ids": self.error_ids, "slow": [list(s) for s in self.slow],
                "key_ids": self.key_ids}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = cls()
        out.requests, out.errors = int(data["requests"]), int(data["errors"])
        out.tokens, out.cost_usd = int(data["tokens"]), float(data["cost_usd"])
        out.latency = ColumnProfile.from_dict(data["latency"])
        out.key_tokens = ColumnProfile.from_dict(data["key_tokens"])
        out.key_requests = Counter(data.get("key_requests", {}))
        out.error_ids = list(data.get("error_ids", []))
        out.slow = [(float(v), str(i)) for v, i in data.get("slow", [])]
        heapq.heapify(out.slow)
        out.key_ids = {k: list(v) for k, v in data.get("key_ids", {}).items()}
        return out
