"""Incidents pipeline throughput: signals per second into alerts/incidents, and tick cost.

    python bench/incidents.py            # full run
    python bench/incidents.py --smoke    # a few seconds (CI)

Prints signals/s through `Pipeline.observe` (SQLite, a temporary file) for new alerts and
for repeated signals of existing alerts, and the time of the first scheduler tick (which
queues one notification per incident) and of a steady tick over the open incidents.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from firebreak.config import Settings
from firebreak.incidents.observations import from_signal
from firebreak.incidents.pipeline import Pipeline
from firebreak.incidents.scheduler import Scheduler
from firebreak.signals import Signal
from firebreak.store import open_database

CATEGORIES = ("prompt_injection", "data_drift", "hallucination", "availability")


def _signal(i: int, deployments: int) -> Signal:
    return Signal(deployment=f"dep-{i % deployments}", detector="bench", metric=f"m{i % 7}",
                  value=0.5, category=CATEGORIES[i % len(CATEGORIES)], ts=datetime.now(UTC),
                  facts={"traffic_share": 0.1})


def run(n: int, deployments: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = open_database(url)
        settings = Settings(database_url=url, notifiers={"routes": [{"notifier": "webhook"}]})
        pipe = Pipeline(db, settings.incidents)
        sched = Scheduler(db, settings.incidents, settings.notifiers, pipe,
                          lambda: datetime.now(UTC))
        started = time.perf_counter()
        for i in range(n):
            pipe.observe(from_signal(_signal(i, deployments)))
        new_rate = n / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(n):
            pipe.observe(from_signal(_signal(i, deployments)))
        repeat_rate = n / (time.perf_counter() - started)
        started = time.perf_counter()
        _, queued = sched.tick()  # the first tick queues an "opened" message per incident
        first_tick = time.perf_counter() - started
        started = time.perf_counter()
        sched.tick()  # a steady tick: nothing changed, nothing to queue
        steady_tick = time.perf_counter() - started
        db.dispose()
    return {"signals": n, "new_alert_signals_per_s": new_rate,
            "repeat_signals_per_s": repeat_rate, "notifications_queued": queued,
            "first_tick_seconds": first_tick, "steady_tick_seconds": steady_tick}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds")
    args = parser.parse_args()
    n, deployments = (200, 10) if args.smoke else (2000, 50)
    for key, value in run(n, deployments).items():
        print(f"{key:28s} {value:,.3f}" if isinstance(value, float) else f"{key:28s} {value}")


if __name__ == "__main__":
    main()
