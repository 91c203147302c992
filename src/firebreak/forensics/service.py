"""The forensics service other stages call: snapshot an incident, write its report.

snapshot(db, incident_id=..., window_seconds=900) -> evidence ids
write_report(db, incident_id=..., formats=("md", "html", "json")) -> {format: file path}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import structlog

from firebreak.config import Settings, get_settings
from firebreak.errors import ValidationFailed
from firebreak.forensics.evidence import Item, add_evidence, list_evidence
from firebreak.forensics.render import FORMATS, render
from firebreak.forensics.report import build_report
from firebreak.forensics.snapshot import take_snapshot
from firebreak.store.db import Database
from firebreak.store.incidents import get_incident

log = structlog.get_logger(__name__)

MEDIA = {"md": "text/markdown", "html": "text/html", "json": "application/json"}


def snapshot(
    db: Database, *, incident_id: str, window_seconds: int = 900, settings: Settings | None = None
) -> list[str]:
    """Capture the incident's window as evidence; returns the new evidence ids."""
    if window_seconds <= 0:
        raise ValidationFailed("window_seconds", "must be a positive number of seconds")
    get_incident(db, incident_id)  # NotFound before any work
    started, (cpu_before, waited_before) = time.perf_counter(), _thread_clock()
    ids = take_snapshot(db, settings or get_settings(), incident_id, window_seconds)
    wall = time.perf_counter() - started
    cpu_after, waited_after = _thread_clock()
    cpu, runnable = cpu_after - cpu_before, waited_after - waited_before
    # where a slow capture's time went: work (cpu), a busy machine (runnable: waiting for a
    # CPU) or the disk and locks (blocked)
    log.info("forensics.snapshot_taken", incident_id=incident_id, window_s=window_seconds,
             records=len(ids), wall_s=round(wall, 3), cpu_s=round(cpu, 3),
             runnable_s=round(runnable, 3), blocked_s=round(max(0.0, wall - cpu - runnable), 3))
    return ids


def _thread_clock() -> tuple[float, float]:
    """This thread's seconds on a CPU and waiting for one (Linux's schedstat; elsewhere
    CPU time only)."""
    try:
        on_cpu, waiting, _ = Path("/proc/thread-self/schedstat").read_text().split()
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return time.thread_time(), 0.0


def report_dir(settings: Settings, incident_id: str) -> Path:
    return settings.data_dir / "reports" / incident_id


def check_formats(formats: Sequence[str]) -> list[str]:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValidationFailed(
            "format", f"must be one of {', '.join(FORMATS)}; got {', '.join(bad) or 'nothing'}"
        )
    return list(dict.fromkeys(formats))


def write_report(
    db: Database,
    *,
    incident_id: str,
    formats: Sequence[str] = ("md", "html", "json"),
    settings: Settings | None = None,
    window_seconds: int | None = None,
) -> dict[str, str]:
    """Render the report in `formats`, write the files, and capture them as evidence.

    Takes a snapshot first when the incident has no evidence yet, so findings can cite it.
    """
    settings = settings or get_settings()
    fmts = check_formats(formats)
    window = window_seconds or settings.forensics.window_seconds
    get_incident(db, incident_id)
    if not list_evidence(db, incident_id):
        take_snapshot(db, settings, incident_id, window)
    data = build_report(db, settings, incident_id, window)
    out_dir = report_dir(settings, incident_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    items = []
    for fmt in fmts:
        text = render(data, fmt)
        path = out_dir / f"report.{fmt}"
        tmp = path.with_suffix(f".{fmt}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths[fmt] = str(path)
        items.append(
            Item(
                f"report:{fmt}",
                f"report ({fmt}) at status {data['incident']['status']}",
                text.encode(),
                MEDIA[fmt],
                {"path": str(path)},
            )
        )
    add_evidence(db, settings, incident_id, items)
    return paths
