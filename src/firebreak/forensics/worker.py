"""Snapshots and reports taken in processes of their own.

A report validates every event of its window into models and runs the analyzers: seconds
of pure Python. A snapshot of a busy hour hashes 100,000+ event payloads. In the control
plane's process either holds the GIL against ingest, the monitors and the next incident's
containment (a playbook step waiting behind a report took 3 s instead of 0.2; a snapshot
beside two busy threads 0.8–1.2 s instead of 0.4). So spawned children take snapshots
(`evidence`, `forensics.snapshot_processes` of them, 2 by default, at the control plane's
priority: a playbook waits for them, and a drift incident's snapshot should not queue
behind another incident's) and one writes reports (`report`, at nice 10: nobody waits for
one). A snapshot runs in a thread of its own that drops to nice 10 as soon as its
incident is contained (by a key block, a guard change): evidence after containment must
not take the CPU from a snapshot that is itself another incident's containment (a drift
incident's, which has no other), and a follow-up never takes the last free child. They
open the same database by URL, so only databases other processes can reach qualify (a
file or a server, not an in-memory SQLite);
`snapshot_processes: 0` / `report_process: false` keep the work in-process.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

import structlog

from firebreak.config import Settings
from firebreak.errors import FirebreakError
from firebreak.store.db import Database
from firebreak.store.incidents import incident_status

log = structlog.get_logger(__name__)

REPORT_NICE = 10
FOLLOW_UP_NICE = REPORT_NICE  # a snapshot once its incident is contained
CONTAINED_POLL = 0.05  # seconds between looks at a snapshot's incident
WARM_HEAP_MB = 160  # what a first snapshot faults in: SQLite's 64 MB page cache, slices
NICE = {"evidence": 0, "report": REPORT_NICE}  # pool -> how far below the control plane
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters
_pools: dict[str, ProcessPoolExecutor] = {}
_lock = threading.Lock()
_inflight: dict[tuple[str, int], Future[list[str]]] = {}  # snapshots being taken
_slots = threading.Condition()  # guards _busy: snapshots holding (or queued for) a child
_busy = 0
_child_db: Database | None = None  # in a child: the database of the last job


def shareable(db: Database) -> bool:
    """Whether another process can open the same database from its URL."""
    url = db.engine.url
    return not (db.is_sqlite and url.database in (None, "", ":memory:"))


def processes(settings: Settings, pool: str) -> int:
    """How many children `pool` has (0: the work stays in-process)."""
    if pool == "evidence":
        return settings.forensics.snapshot_processes
    return 1 if settings.forensics.report_process else 0


def in_process(db: Database, settings: Settings, pool: str = "report") -> bool:
    return not (processes(settings, pool) and shareable(db))


def snapshot(db: Database, *, incident_id: str, window_seconds: int,
             settings: Settings) -> list[str]:
    """forensics.service.snapshot, taken in an evidence process when there are any.

    Two playbooks of one incident asking for the same window at the same time share one
    capture (the same events, the same ids) instead of hashing the hour twice.
    """
    key = (incident_id, window_seconds)
    with _lock:
        shared = _inflight.get(key)
        if shared is None:
            mine: Future[list[str]] = Future()
            _inflight[key] = mine
    if shared is not None:
        return list(shared.result())
    try:
        with _child_slot(db, settings, incident_id):
            ids = _run("evidence", db, settings, "snapshot", incident_id=incident_id,
                       window_seconds=window_seconds)
        mine.set_result(ids)
        return ids
    except BaseException as exc:
        mine.set_exception(exc)
        raise
    finally:
        with _lock:
            _inflight.pop(key, None)


@contextlib.contextmanager
def _child_slot(db: Database, settings: Settings, incident_id: str) -> Iterator[None]:
    """Hold an evidence child for one snapshot, keeping the last free one for containment.

    A snapshot of an incident that is already contained (a follow-up) waits rather than take
    the last free child: in the chaos world two chat incidents' follow-up captures (~1 s
    each) held both children when a concept-drift incident opened, and its snapshot, its
    whole containment, waited 1.0 s for a child and then took 0.28 s. A snapshot of an
    incident not yet contained takes any free child (or queues in the pool as before).
    """
    children = 0 if in_process(db, settings, "evidence") else processes(settings, "evidence")
    follow_up = children > 0 and _contained(db, incident_id)
    global _busy
    with _slots:
        if follow_up:
            _slots.wait_for(lambda: _busy < max(1, children - 1))
        _busy += 1
    try:
        yield
    finally:
        with _slots:
            _busy -= 1
            _slots.notify_all()


def write_report(db: Database, *, incident_id: str, settings: Settings,
                 formats: Sequence[str] = ("md", "html", "json")) -> dict[str, str]:
    """forensics.service.write_report, run in the report process when there is one."""
    return _run("report", db, settings, "write_report", incident_id=incident_id,
                formats=tuple(formats))


def warm_up(db: Database, settings: Settings) -> None:
    """Start the children now (they import the analyzers: seconds), not at the first
    snapshot or report."""
    for pool in NICE:
        if not in_process(db, settings, pool):
            size = processes(settings, pool)
            executor = _executor(pool, size)
            for _ in range(size):  # each submit while the others are busy spawns one more
                executor.submit(_ready, pool, db.url, settings)


def _run(pool: str, db: Database, settings: Settings, op: str, **kwargs: Any) -> Any:
    from firebreak.forensics import service

    def here() -> Any:
        return getattr(service, op)(db, settings=settings, **kwargs)

    if in_process(db, settings, pool):
        return here()
    try:
        executor = _executor(pool, processes(settings, pool))
        error, value = executor.submit(_job, db.url, settings, op, kwargs).result()
    except BrokenProcessPool:  # the child died (killed, out of memory): start over next time
        _reset(pool)
        log.warning("forensics.process_died", pool=pool, op=op, **kwargs)
        return here()
    if error is not None:
        raise FirebreakError(error)
    return value


def _executor(pool: str, size: int = 1) -> ProcessPoolExecutor:
    with _lock:
        if pool not in _pools:
            # spawn, not fork: the control plane runs threads and an event loop
            _pools[pool] = ProcessPoolExecutor(
                size, mp_context=multiprocessing.get_context("spawn"),
                initializer=_background, initargs=(pool,))
        return _pools[pool]


def _reset(pool: str | None = None) -> None:
    with _lock:
        gone = [_pools.pop(p) for p in ([pool] if pool else list(_pools)) if p in _pools]
    for executor in gone:
        executor.shutdown(wait=False, cancel_futures=True)


atexit.register(_reset)


def _background(pool: str) -> None:
    """In a child: yield the CPU to the control plane by `NICE[pool]` (0 for snapshots, which
    a playbook's containment waits for; more for reports, seconds of work nobody waits for),
    and end with the control plane."""
    if NICE[pool]:
        os.nice(NICE[pool])
    if pool == "evidence":
        _keep_freed_memory()
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()


def _exit_with_parent() -> None:
    """In a child: exit as soon as the control plane has. A pool's children wait on their
    queue, which they hold both ends of, so a control plane killed (SIGKILL, OOM killer) or
    exiting without shutting its pools down left them running, each holding its memory."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)


def _keep_freed_memory() -> None:
    """In an evidence child: serve big buffers from the heap and keep them once freed.

    A snapshot passes a window's events through slices of a few MB and SQLite's page cache.
    glibc maps big buffers afresh and unmaps them when freed, so every snapshot would fault
    its pages in again: on a VM whose host backs guest pages lazily that cost more than the
    copying (when whole arrays were joined at once, 0.5-1.2 s in the kernel against 0.4 s of
    work). Kept, the next snapshot reuses them; the child holds the memory of its largest
    snapshot (~0.2 GB for 15 minutes of 50 chat calls/s).
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): malloc stays as it is
        return
    mallopt(M_MMAP_THRESHOLD, 1 << 30)
    mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)
    mallopt(M_ARENA_MAX, 1)  # a snapshot's thread reuses the kept heap, not an arena of its own
    # Fault the heap in now, once: a first snapshot of an hour of flight events otherwise
    # faulted in 148 MB (SQLite's page cache, the slices), 0.14-0.4 s in the kernel on a VM
    # that backs memory lazily. Freed, it stays in the heap for the snapshots.
    buffer = b"x" * (WARM_HEAP_MB << 20)  # written through: every page touched
    del buffer


def _ready(pool: str, url: str, settings: Settings) -> bool:
    """In a child: import the forensics code; an evidence child also runs a snapshot's
    queries once (snapshot.warm_up), so the first incident's snapshot is not the slow one
    (its heap was faulted in when the child started: _keep_freed_memory)."""
    import firebreak.forensics.service  # noqa: F401  (the import is most of the work)
    from firebreak.forensics import snapshot

    if pool == "evidence":
        snapshot.warm_up(_database(url), settings)
    return True


def _yielding_once_contained(db: Database, incident_id: str, fn: Callable[[], Any]) -> Any:
    """In an evidence child: fn() in a thread that drops to nice FOLLOW_UP_NICE once the
    incident is contained (looked up every CONTAINED_POLL s). Before, a snapshot may be the
    containment; after, it is a follow-up. Linux keeps a nice value per thread, so the
    child's next snapshot starts at full priority again (raising one back needs privileges);
    elsewhere a nice value is per process and the snapshot keeps full priority."""
    with ThreadPoolExecutor(1, thread_name_prefix="snapshot") as pool:
        tid = pool.submit(threading.get_native_id).result()
        job = pool.submit(fn)
        while sys.platform == "linux":
            if _contained(db, incident_id):
                os.setpriority(os.PRIO_PROCESS, tid,
                               os.getpriority(os.PRIO_PROCESS, tid) + FOLLOW_UP_NICE)
                break
            try:
                return job.result(timeout=CONTAINED_POLL)
            except TimeoutError:
                continue
        return job.result()


def _contained(db: Database, incident_id: str) -> bool:
    """Whether the incident is past containment (contained, resolved, ...)."""
    return incident_status(db, incident_id) not in (None, "detected", "triaged")


def _database(url: str) -> Database:
    """In a child: the database of this job, kept open for the next one."""
    global _child_db
    if _child_db is None or _child_db.url != url:
        if _child_db is not None:
            _child_db.dispose()
        _child_db = Database(url)
    return _child_db


def _job(url: str, settings: Settings, op: str,
         kwargs: dict[str, Any]) -> tuple[str | None, Any]:
    """In a child. Errors come back as their message: exception classes with their own
    constructors do not always survive pickling."""
    from firebreak.forensics import service

    db = _database(url)
    work = partial(getattr(service, op), db, settings=settings, **kwargs)
    try:
        if op == "snapshot":
            return None, _yielding_once_contained(db, kwargs["incident_id"], work)
        return None, work()
    except FirebreakError as exc:
        return exc.message, None
