"""Deployment health as time series, computed from stored events.

Each series has one value per bucket (None where a rate has no traffic behind it):
traffic, latency p50/p95, error rate, injection rate and ungrounded-answer rate. Drift
is the highest drift signal value per bucket (detector signals in the store, or events of
kind `metric` named `drift*` that a deployment reports itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from firebreak.store import Database
from firebreak.store.models import EventRow
from firebreak.web.parts import signal_series

INJECTION_LABELS = frozenset({"injection", "prompt_injection", "indirect_injection", "jailbreak"})
UNGROUNDED_LABELS = frozenset({"ungrounded", "hallucination", "unsupported"})
MAX_EVENTS = 50_000  # one dashboard poll never loads more than this


@dataclass
class _Bucket:
    calls: int = 0
    errors: int = 0
    injections: int = 0
    ungrounded: int = 0
    checked: int = 0  # calls that carried at least one verdict
    latencies: list[float] = field(default_factory=list)
    drift: list[float] = field(default_factory=list)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _add(b: _Bucket, e: dict[str, Any]) -> None:
    kind = e.get("kind")
    if kind == "metric":
        if str(e.get("name", "")).startswith("drift"):
            b.drift.append(float(e.get("value", 0.0)))
        return
    if kind not in ("llm.call", "prediction"):
        return
    b.calls += 1
    b.errors += e.get("status") == "error"
    if e.get("latency_ms") is not None:
        b.latencies.append(float(e["latency_ms"]))
    labels = {v.get("label") for v in e.get("verdicts", ())}
    if labels:
        b.checked += 1
    b.injections += bool(labels & INJECTION_LABELS)
    grounded = e.get("attributes", {}).get("grounded")
    b.ungrounded += bool(labels & UNGROUNDED_LABELS) or grounded is False


def _load(db: Database, deployment: str, since: datetime) -> list[dict[str, Any]]:
    q = (select(EventRow.payload).where(EventRow.deployment == deployment, EventRow.ts >= since)
         .order_by(EventRow.seq.desc()).limit(MAX_EVENTS))
    with db.session() as session:
        return [orjson.loads(p) for p in session.scalars(q)]


def deployment_health(db: Database, deployment: str, *, window: timedelta,
                      buckets: int = 60, now: datetime | None = None) -> dict[str, Any]:
    """Series for one deployment over the last `window`, in `buckets` equal steps."""
    now = now or datetime.now(UTC)
    start = now - window
    step = window / buckets
    slots = [_Bucket() for _ in range(buckets)]
    for e in _load(db, deployment, start):
        ts = datetime.fromisoformat(e["ts"])
        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        i = int((ts - start) / step)
        if 0 <= i < buckets:
            _add(slots[i], e)
    for ts, value in signal_series(db, deployment, start, "drift"):
        i = int((ts - start) / step)
        if 0 <= i < buckets:
            slots[i].drift.append(value)
    per_minute = timedelta(minutes=1) / step
    return {
        "deployment": deployment,
        "start": start.isoformat(), "end": now.isoformat(), "step_seconds": step.total_seconds(),
        "series": {
            "traffic": [round(b.calls * per_minute, 2) for b in slots],
            "latency_p50": [_pct(b.latencies, 0.5) for b in slots],
            "latency_p95": [_pct(b.latencies, 0.95) for b in slots],
            "error_rate": [_rate(b.errors, b.calls) for b in slots],
            "injection_rate": [_rate(b.injections, b.calls) for b in slots],
            "ungrounded_rate": [_rate(b.ungrounded, b.calls) for b in slots],
            "drift": [max(b.drift) if b.drift else None for b in slots],
        },
        "totals": _totals(slots),
    }


def _totals(slots: list[_Bucket]) -> dict[str, Any]:
    calls = sum(b.calls for b in slots)
    return {
        "calls": calls,
        "error_rate": _rate(sum(b.errors for b in slots), calls),
        "injection_rate": _rate(sum(b.injections for b in slots), calls),
        "ungrounded_rate": _rate(sum(b.ungrounded for b in slots), calls),
        "latency_p95": _pct([x for b in slots for x in b.latencies], 0.95),
    }
