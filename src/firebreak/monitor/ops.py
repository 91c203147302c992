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
from firebreak.monitor.batch import EventBatch
from firebreak.monitor.profile import ColumnProfile

EVIDENCE = 50
_LLM = frozenset({"llm.call"})


def _counts(values: list[int | None]) -> np.ndarray:
    """Token counts as int64, None as 0."""
    return np.nan_to_num(np.array(values, dtype=np.float64)).astype(np.int64)


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
        rows = EventBatch.of(events).of_kinds(self.kinds)
        if not rows:
            return
        self.requests += len(rows)
        ids = rows.column("event_id")
        latency = np.array(rows.column("latency_ms"), dtype=np.float64)  # None -> NaN
        self.latency.update(latency)
        statuses = rows.column("status")
        if "error" in statuses:
            failed = [i for i, s in enumerate(statuses) if s == "error"]
            self.errors += len(failed)
            room = max(EVIDENCE - len(self.error_ids), 0)
            self.error_ids += [ids[i] for i in failed[:room]]
        calls = rows.of_kinds(_LLM)
        if calls:
            self._fold_llm(calls)
        self._fold_slow(latency, ids)

    def _fold_llm(self, calls: EventBatch) -> None:
        tokens = (_counts(calls.column("input_tokens")) + _counts(calls.column("output_tokens")))
        self.tokens += int(tokens.sum())
        self.cost_usd += float(np.nansum(np.array(calls.column("cost_usd"), dtype=np.float64)))
        per_key: Counter[str] = Counter()
        for key, n, event_id in zip(calls.column("api_key_id"), tokens.tolist(),
                                    calls.column("event_id"), strict=True):
            if key:
                per_key[key] += n
                self.key_requests[key] += 1
                kept = self.key_ids.setdefault(key, [])
                if len(kept) < 5 and len(self.key_ids) <= 1000:
                    kept.append(event_id)
        if per_key:
            self.key_tokens.update_counts(per_key.items())

    def _fold_slow(self, latency: np.ndarray, ids: Sequence[str]) -> None:
        """Keep the EVIDENCE slowest (latency, event id) pairs seen in this window."""
        valid = np.flatnonzero(~np.isnan(latency))
        if valid.size == 0:
            return
        if valid.size > EVIDENCE:  # only values that can enter the top list, ties included
            floor = np.partition(latency[valid], valid.size - EVIDENCE)[valid.size - EVIDENCE]
            valid = valid[latency[valid] >= floor]
        for i in valid.tolist():
            item = (float(latency[i]), ids[i])
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
