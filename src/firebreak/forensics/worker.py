"""Reports written in a process of their own.

A report validates every event of its window into models and runs the analyzers: seconds
of pure Python. In the control plane's process that holds the GIL against ingest, the
monitors and the next incident's containment (a playbook step waiting behind a report
took 3 s instead of 0.2). One spawned child per control plane writes them instead; it opens
the same database by URL, so only databases other processes can reach qualify (a file or
a server, not an in-memory SQLite), and `forensics.report_process: false` keeps reports
in-process.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from firebreak.config import Settings
from firebreak.errors import FirebreakError
from firebreak.store.db import Database

log = structlog.get_logger(__name__)

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()
_child_db: Database | None = None  # in the child: the database of the last job
REPORT_NICE = 10


def shareable(db: Database) -> bool:
    """Whether another process can open the same database from its URL."""
    url = db.engine.url
    return not (db.is_sqlite and url.database in (None, "", ":memory:"))


def in_process(db: Database, settings: Settings) -> bool:
    return not (settings.forensics.report_process and shareable(db))


def write_report(db: Database, *, incident_id: str, settings: Settings,
                 formats: Sequence[str] = ("md", "html", "json")) -> dict[str, str]:
    """forensics.service.write_report, run in the report process when there is one."""
    from firebreak.forensics import service

    def here() -> dict[str, str]:
        return service.write_report(db, incident_id=incident_id, formats=formats,
                                    settings=settings)

    if in_process(db, settings):
        return here()
    try:
        error, paths = _executor().submit(
            _report, db.url, settings, incident_id, tuple(formats)).result()
    except BrokenProcessPool:  # the child died (killed, out of memory): start over next time
        _reset()
        log.warning("forensics.report_process_died", incident_id=incident_id)
        return here()
    if error is not None:
        raise FirebreakError(error)
    return paths


def warm_up(db: Database, settings: Settings) -> None:
    """Start the child now (it imports the analyzers: seconds), not at the first report."""
    if not in_process(db, settings):
        _executor().submit(_ready)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn, not fork: the control plane runs threads and an event loop
            _pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_background)
        return _pool


def _reset() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(_reset)


def _background() -> None:
    """In the child: yield the CPU to the control plane. A report is seconds of work nobody
    waits for; detection and containment on the same cores are what cannot wait."""
    os.nice(REPORT_NICE)


def _ready() -> bool:
    import firebreak.forensics.service  # noqa: F401  (the import is the work)

    return True


def _report(url: str, settings: Settings, incident_id: str,
            formats: tuple[str, ...]) -> tuple[str | None, dict[str, str]]:
    """In the child. Errors come back as their message: exception classes with their own
    constructors do not always survive pickling."""
    from firebreak.forensics import service

    global _child_db
    if _child_db is None or _child_db.url != url:
        if _child_db is not None:
            _child_db.dispose()
        _child_db = Database(url)
    try:
        return None, service.write_report(_child_db, incident_id=incident_id, formats=formats,
                                          settings=settings)
    except FirebreakError as exc:
        return exc.message, {}
