"""Helpers for detector tests: turn rows of NYC flights 2013 into events and windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from firebreak.detect.base import DetectionContext
from firebreak.events import LLMCall, Prediction
from firebreak.monitor.base import DeploymentMemory
from firebreak.monitor.window import BUILTIN_AGGREGATES, Window

FEATURES = ["month", "dep_delay", "arr_delay", "air_time", "distance", "hour", "carrier",
            "origin", "dest"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def predictions(frame: pd.DataFrame, *, prefix: str, output: Sequence[Any] | None = None,
                probabilities: Sequence[dict[str, float]] | None = None,
                embeddings: np.ndarray | None = None) -> list[Prediction]:
    """One prediction event per row, features from FEATURES (NaN -> None)."""
    records = frame[FEATURES].astype(object).where(frame[FEATURES].notna(), None)
    out = []
    for i, row in enumerate(records.to_dict("records")):
        out.append(Prediction(
            event_id=f"{prefix}-{i}", prediction_id=f"{prefix}-{i}", deployment="flights",
            ts=T0, features=row, output=None if output is None else output[i],
            probabilities=None if probabilities is None else probabilities[i],
            embedding=None if embeddings is None else embeddings[i].tolist()))
    return out


def llm_calls(frame: pd.DataFrame, *, prefix: str, latency_scale: float = 1.0,
              token_boost: dict[str, float] | None = None, errors: Any = None) -> list[LLMCall]:
    """LLM calls shaped by real flights: latency = air time, tokens = distance, key = carrier."""
    boost = token_boost or {}
    failed = frame["dep_time"].isna() if errors is None else errors
    out = []
    for i, (air, dist, carrier, bad) in enumerate(zip(
            frame["air_time"], frame["distance"], frame["carrier"], failed, strict=True)):
        tokens = int(dist * boost.get(carrier, 1.0))
        out.append(LLMCall(
            event_id=f"{prefix}-{i}", deployment="flights", ts=T0,
            latency_ms=None if pd.isna(air) else float(air) * latency_scale,
            input_tokens=tokens, output_tokens=tokens // 4, cost_usd=tokens * 2e-6,
            api_key_id=f"key-{carrier}", status="error" if bad else "ok"))
    return out


def window(events: Iterable[Any], index: int = 0, memory: DeploymentMemory | None = None,
           minutes: int = 1) -> Window:
    start = T0 + timedelta(minutes=minutes * index)
    w = Window.zero("flights", start, start + timedelta(minutes=minutes),
                    BUILTIN_AGGREGATES.values())
    w.update(list(events), memory or DeploymentMemory())
    return w


def context(current: Window, reference: Window | None = None,
            history: Sequence[Window] = ()) -> DetectionContext:
    return DetectionContext("flights", current, reference, tuple(history))
