"""Containment first: a drift snapshot beside another incident's evidence, on busy cores.

    .venv/bin/python bench/evidence_priority.py            # 60,000 predictions, 50,000 calls
    .venv/bin/python bench/evidence_priority.py --smoke    # 6,000 / 5,000, one round (CI)
    .venv/bin/python bench/evidence_priority.py --busy 4   # more production than cores

The chaos world's first collision, rebuilt: a flight model's drift incident (its snapshot
is its containment) and an assistant's incident open together, and both snapshots start
in the evidence children while stand-ins for the production (busy processes, one per
core) hold the CPU. In `contained` rounds the assistant's incident is contained 0.08 s
later (its key block), so its snapshot drops to nice 10; in `open` rounds it stays open and
both snapshots keep full priority, as every snapshot did before. Rounds alternate; the
ratio of the medians is the number to read.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firebreak.config import Settings
from firebreak.events import Label, LLMCall, Prediction
from firebreak.forensics import worker
from firebreak.store import Database, open_database
from firebreak.store.events import insert_events
from firebreak.store.incidents import Incident, create_incident, new_incident_id, update_incident

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# a support assistant's call carries its instructions and retrieved chunks: ~2.6 KB stored
CONTEXT = "You are the support assistant. Answer from these documents only.\n" + (
    "Orders ship within two business days; returns are accepted for 30 days. " * 24)
ANSWER = "According to the documents, orders ship within two business days. " * 6


def _fill(db: Database, predictions: int, calls: int) -> None:
    rng = random.Random(1)
    span = 1000.0  # seconds of traffic before the incidents, as in the world's clean phase
    for start in range(0, predictions, 5000):
        batch: list[Prediction | Label] = []
        for i in range(start, min(start + 5000, predictions)):
            ts = T0 - timedelta(seconds=span * (1 - i / predictions))
            batch.append(Prediction(
                event_id=f"p{i}", ts=ts, deployment="flights", model_version="m1",
                prediction_id=f"p{i}", output=rng.random() < 0.2, score=rng.random(),
                features={"distance": rng.uniform(100, 3000), "dep_delay": rng.gauss(5, 20),
                          "carrier": rng.choice("ABCDEFGH"), "hour": rng.randrange(24)}))
            batch.append(Label(event_id=f"l{i}", ts=ts, deployment="flights",
                               prediction_id=f"p{i}", label=rng.random() < 0.2))
        insert_events(db, batch)
    for start in range(0, calls, 5000):
        insert_events(db, [LLMCall(
            event_id=f"c{i}", ts=T0 - timedelta(seconds=span * (1 - i / calls)),
            deployment="bot", model_version="m1", response=ANSWER,
            messages=[{"role": "system", "content": CONTEXT},
                      {"role": "user", "content": f"question {rng.randrange(500)} about "
                                                  f"order {rng.randrange(10_000)}"}],
            api_key_id=f"k{rng.randrange(50)}", user_id=f"u{rng.randrange(500)}")
            for i in range(start, min(start + 5000, calls))])


def _incident(db: Database, deployment: str, category: str) -> str:
    return create_incident(db, Incident(
        id=new_incident_id(), deployment=deployment, category=category, severity="SEV2",
        status="triaged", title="bench", opened_at=T0, updated_at=T0, onset_at=T0)).id


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _round(db: Database, settings: Settings, contain: bool,
           busy: int) -> tuple[float, float]:
    drift = _incident(db, "flights", "data_drift")
    chat = _incident(db, "bot", "hallucination")
    production = [multiprocessing.get_context("fork").Process(target=_busy, args=(8.0,))
                  for _ in range(busy)]
    for p in production:
        p.start()

    def timed(incident_id: str, window: int) -> float:
        started = time.perf_counter()
        worker.snapshot(db, incident_id=incident_id, window_seconds=window, settings=settings)
        return time.perf_counter() - started

    with ThreadPoolExecutor(2) as pool:
        drift_s = pool.submit(timed, drift, 3600)
        chat_s = pool.submit(timed, chat, 900)
        if contain:
            time.sleep(0.08)
            update_incident(db, chat, actor="bench", message="keys blocked", status="contained")
        out = drift_s.result(), chat_s.result()
    for p in production:
        p.terminate()
        p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--predictions", type=int, default=60_000)
    ap.add_argument("--calls", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--busy", type=int, default=os.cpu_count() or 2,
                    help="stand-ins for the production (default: one per core)")
    args = ap.parse_args()
    predictions, calls, rounds = ((6_000, 5_000, 1) if args.smoke
                                  else (args.predictions, args.calls, args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'b.db'}"
        db = open_database(url)
        settings = Settings(database_url=url, data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
        _fill(db, predictions, calls)
        worker.warm_up(db, settings)
        _round(db, settings, True, args.busy)  # both children started, past their warm-up
        times: dict[str, list[tuple[float, float]]] = {"open": [], "contained": []}
        for _ in range(rounds):
            for mode in times:
                times[mode].append(_round(db, settings, mode == "contained", args.busy))
        worker._reset()
        db.dispose()
    print(f"{predictions} predictions + labels, {calls} chat calls; {rounds} rounds per mode, "
          f"{args.busy} busy processes beside the snapshots")
    for mode, runs in times.items():
        print(f"{mode:10s} drift snapshot " + " ".join(f"{d:.2f}" for d, _ in runs)
              + " s   chat snapshot " + " ".join(f"{c:.2f}" for _, c in runs) + " s")
    ratio = (statistics.median(d for d, _ in times["contained"])
             / statistics.median(d for d, _ in times["open"]))
    print(f"drift snapshot, contained / open (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
