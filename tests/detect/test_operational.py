"""Operational detectors against robust baselines of recent windows (real flight shapes)."""

from __future__ import annotations

import pandas as pd

from detect.helpers import context, llm_calls, window
from firebreak.detect.builtin.operational import Consumption, ErrorRate, KeyConsumption, Latency


def _history(flights: pd.DataFrame, n: int = 8, size: int = 1000):
    return [window(llm_calls(flights.iloc[i * size:(i + 1) * size], prefix=f"h{i}"), i)
            for i in range(n)]


def test_quiet_on_clean_windows(flights: pd.DataFrame) -> None:
    history = _history(flights)
    cur = window(llm_calls(flights.iloc[20_000:21_000], prefix="c"), 20)
    for det in (Latency(), ErrorRate(), Consumption(), KeyConsumption()):
        assert det.detect(context(cur, None, history)) == [], det.name


def test_one_outlier_does_not_fire(flights: pd.DataFrame) -> None:
    history = _history(flights)
    rows = flights.iloc[20_000:21_000].copy()
    rows.loc[rows.index[0], "air_time"] = 1e6
    cur = window(llm_calls(rows, prefix="c"), 20)
    assert Latency().detect(context(cur, None, history)) == []


def test_latency_spike_fires_with_slowest_events(flights: pd.DataFrame) -> None:
    history = _history(flights)
    cur = window(llm_calls(flights.iloc[20_000:21_000], prefix="c", latency_scale=3), 20)
    signals = Latency().detect(context(cur, None, history))
    assert {s.metric for s in signals} == {"latency_p50_ms", "latency_p95_ms"}  # p99: <1000
    assert all(s.category == "availability" and s.evidence_event_ids for s in signals)


def test_error_rate_spike(flights: pd.DataFrame) -> None:
    history = _history(flights)
    rows = flights.iloc[20_000:21_000]
    cur = window(llm_calls(rows, prefix="c", errors=rows["dep_delay"].fillna(99) > 30), 20)
    [signal] = ErrorRate().detect(context(cur, None, history))
    assert signal.value > 0.1 and len(signal.evidence_event_ids) == 50


def test_denial_of_wallet_names_the_key(flights: pd.DataFrame) -> None:
    history = _history(flights)
    rows = flights.iloc[20_000:21_000]
    counts = rows["carrier"].value_counts()
    small = str(counts[counts >= 3].index[-1])  # a small airline's key goes rogue
    cur = window(llm_calls(rows, prefix="c", token_boost={small: 5000.0}), 20)
    [key_signal] = KeyConsumption().detect(context(cur, None, history))
    assert [c.key for c in key_signal.contributors] == [f"key-{small}"]
    assert key_signal.category == "unbounded_consumption"
    spend = Consumption().detect(context(cur, None, history))
    assert {s.metric for s in spend} == {"tokens_per_minute", "cost_usd_per_minute"}
    assert spend[0].facts["top_api_keys"][0] == f"key-{small}"


def test_no_history_is_not_judged(flights: pd.DataFrame) -> None:
    cur = window(llm_calls(flights.iloc[:1000], prefix="c"), 0)
    assert ErrorRate().detect(context(cur)) is None
    assert Consumption().detect(context(cur)) is None
