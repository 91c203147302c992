"""A drift snapshot that cites sealed minutes, against one that copies its whole window.

    .venv/bin/python bench/sealed_snapshot.py            # 60,000 predictions + labels, 3 rounds
    .venv/bin/python bench/sealed_snapshot.py --smoke    # 6,000, one round (CI)

The flight model's 1,000 s of traffic before its drift incident (as in the chaos world's
clean phase) and a chat deployment's beside it, sealed minute by minute as the forensics
stage does. Each round takes the drift incident's one-hour snapshot twice, sealing on
(cites the sealed minutes, reads the last one) and off (copies the window), alternating,
both warm and cold: cold drops the database file from the page cache first, as this VM's
proactive reclaim does to pages idle for a minute. The ratios are the numbers to read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from evidence_priority import T0, _fill, _incident

from firebreak.config import Settings
from firebreak.forensics.seal import seal_due
from firebreak.forensics.service import snapshot
from firebreak.store import Database, open_database


def _drop_cache(db: Database, path: Path) -> None:
    """Forget the database's pages: SQLite's (new connections) and the kernel's."""
    db.engine.dispose()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _timed(db: Database, settings: Settings, incident_id: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    snapshot(db, incident_id=incident_id, window_seconds=3600, settings=settings)
    return time.perf_counter() - wall, time.thread_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--predictions", type=int, default=60_000)
    ap.add_argument("--calls", type=int, default=30_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    predictions, calls, rounds = ((6_000, 3_000, 1) if args.smoke
                                  else (args.predictions, args.calls, args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.db"
        db = open_database(f"sqlite:///{path}")
        base = Settings(database_url=f"sqlite:///{path}", data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
        _fill(db, predictions, calls)
        started = time.perf_counter()
        slices = seal_due(db, base, now=T0 + timedelta(seconds=5))
        sealing = time.perf_counter() - started
        modes = {"sealed": base, "copied": base.model_copy(deep=True)}
        modes["copied"].forensics.seal_keep_seconds = 0  # off: snapshots copy their window
        incident = _incident(db, "flights", "data_drift")
        _timed(db, base, incident)  # the first snapshot also compiles its SQL
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(rounds):
            for cache in ("warm", "cold"):
                for mode, settings in modes.items():
                    if cache == "cold":
                        _drop_cache(db, path)
                    times.setdefault((mode, cache), []).append(_timed(db, settings, incident))
        db.dispose()
    print(f"{predictions} predictions + labels and {calls} chat calls over 1,000 s; sealing "
          f"them: {slices} slices in {sealing:.2f} s ({sealing / (1000 / 60):.3f} s per minute)")
    print(f"drift snapshot (1 h window), {rounds} rounds, wall / CPU seconds:")
    for (mode, cache), runs in times.items():
        print(f"  {mode:6s} {cache:4s} " + "  ".join(f"{w:.3f} / {c:.3f}" for w, c in runs))
    for cache in ("warm", "cold"):
        ratio = (statistics.median(w for w, _ in times[("sealed", cache)])
                 / statistics.median(w for w, _ in times[("copied", cache)]))
        print(f"{cache}: sealed / copied wall (medians) {ratio:.2f}")


if __name__ == "__main__":
    main()
