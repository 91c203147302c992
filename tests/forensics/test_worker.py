"""Snapshots and reports in processes of their own: children that open the same database."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.forensics.conftest import make_incident

from firebreak.config import Settings
from firebreak.errors import FirebreakError
from firebreak.forensics import snapshot, worker
from firebreak.forensics.evidence import list_evidence
from firebreak.store import Database, open_database
from firebreak.store.incidents import update_incident
from firebreak.store.policy import list_policies
from scale.scaletools import Forked


def test_report_is_written_by_another_process(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    inc = make_incident(db, "bot")
    assert not worker.in_process(db, settings)
    paths = worker.write_report(db, incident_id=inc.id, settings=settings)
    data = json.loads(Path(paths["json"]).read_text())
    assert data["incident"]["id"] == inc.id
    # the child wrote the evidence into the same database, and it was not this process
    assert {e["kind"] for e in list_evidence(db, inc.id)} >= {"report:json", "incident"}
    pid = worker._executor("report").submit(os.getpid).result()
    assert pid != os.getpid()
    # and it runs below the control plane's priority
    assert worker._executor("report").submit(os.nice, 0).result() >= os.nice(0) + worker.REPORT_NICE


def test_snapshot_is_taken_by_another_process_at_full_priority(
        lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    inc = make_incident(db, "bot")
    assert not worker.in_process(db, settings, "evidence")
    ids = worker.snapshot(db, incident_id=inc.id, window_seconds=600, settings=settings)
    assert ids and {e["id"] for e in list_evidence(db, inc.id)} == set(ids)
    evidence = worker._executor("evidence")
    assert evidence.submit(os.getpid).result() not in (os.getpid(),
                                                       worker._executor("report").submit(
                                                           os.getpid).result())
    # a playbook's containment waits for it: no lower priority than the control plane
    assert evidence.submit(os.nice, 0).result() == os.nice(0)
    # two children, so one incident's snapshot does not queue behind another's. The pool
    # spawns its second child on demand (the control plane asks at start: warm_up); the
    # first is kept busy long enough for the second to start and take the other job.
    worker.warm_up(db, settings)
    both = [evidence.submit(_pid_after, 3.0) for _ in range(2)]
    assert len({f.result() for f in both}) == worker.processes(settings, "evidence") == 2
    with pytest.raises(FirebreakError, match="inc-missing"):
        worker.snapshot(db, incident_id="inc-missing", window_seconds=600, settings=settings)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice per thread is Linux's")
def test_snapshot_yields_the_cpu_once_its_incident_is_contained(
        lite: tuple[Database, Settings]) -> None:
    """Before containment a snapshot may be the containment; after it, it is a follow-up."""
    db, settings = lite
    inc = make_incident(db, "bot")
    own = os.getpriority(os.PRIO_PROCESS, 0)

    def capture() -> tuple[int, int]:  # a snapshot's thread: its nice now and 1.5 s on
        first = os.getpriority(os.PRIO_PROCESS, 0)
        deadline = time.monotonic() + 1.5
        while os.getpriority(os.PRIO_PROCESS, 0) == first and time.monotonic() < deadline:
            time.sleep(0.01)
        return first, os.getpriority(os.PRIO_PROCESS, 0)

    contain = threading.Timer(0.3, update_incident, (db, inc.id), dict(
        actor="playbook:test", message="keys blocked", status="contained"))
    contain.start()
    assert worker._yielding_once_contained(db, inc.id, capture) == (
        own, own + worker.FOLLOW_UP_NICE)
    # only that thread: this one, and the next snapshot's thread, keep their priority
    assert os.getpriority(os.PRIO_PROCESS, 0) == own
    before = worker._yielding_once_contained(db, "inc-other", capture)
    assert before == (own, own)  # never contained (no such incident): full priority
    # through a child: a contained incident's whole capture, and the child is not lowered
    evidence = worker._executor("evidence")
    child = evidence.submit(os.nice, 0).result()
    ids = worker.snapshot(db, incident_id=inc.id, window_seconds=600, settings=settings)
    assert ids and {e["id"] for e in list_evidence(db, inc.id)} == set(ids)
    assert {evidence.submit(os.nice, 0).result() for _ in range(4)} == {child}


def test_follow_up_snapshots_leave_a_child_free_for_containment(
        lite: tuple[Database, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two children: a follow-up (its incident contained) takes one; a second follow-up
    waits rather than take the last; a containment snapshot arriving then starts at once."""
    db, settings = lite
    assert worker.processes(settings, "evidence") == 2 and not worker.in_process(
        db, settings, "evidence")
    done, started = make_incident(db, "bot"), {}
    other, drift = make_incident(db, "bot"), make_incident(db, "flights")
    for inc in (done, other):
        update_incident(db, inc.id, actor="playbook:test", message="keys blocked",
                        status="contained")
    t0 = time.monotonic()

    def capture(pool: str, db: Database, settings: Settings, op: str, *, incident_id: str,
                window_seconds: int) -> list[str]:  # a capture holding its child 0.6 s
        started[incident_id] = time.monotonic() - t0
        time.sleep(0.6)
        return [incident_id]

    monkeypatch.setattr(worker, "_run", capture)
    with ThreadPoolExecutor(3) as pool:
        calls = []
        for inc, delay in ((done, 0.0), (other, 0.1), (drift, 0.2)):
            time.sleep(delay and 0.1)
            calls.append(pool.submit(worker.snapshot, db, incident_id=inc.id,
                                     window_seconds=900, settings=settings))
        assert [c.result() for c in calls] == [[done.id], [other.id], [drift.id]]
    assert started[done.id] < 0.1
    assert started[drift.id] < 0.4  # the free child: no wait for a follow-up to end
    assert started[other.id] >= 0.55  # waited for the first follow-up's child
    assert worker._busy == 0


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_concurrent_snapshots_of_one_window_share_one_capture(
        lite: tuple[Database, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    db, settings = lite
    inc = make_incident(db, "bot")
    run = worker._run

    def slow(*args: object, **kwargs: object) -> object:  # a busy hour: the others arrive
        time.sleep(0.5)
        return run(*args, **kwargs)

    monkeypatch.setattr(worker, "_run", slow)
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: worker.snapshot(db, incident_id=inc.id, window_seconds=600,
                                                       settings=settings), range(4)))
    # every caller got ids of stored evidence; fewer captures than callers were taken
    stored = {e["id"] for e in list_evidence(db, inc.id)}
    assert all(set(r) <= stored and r for r in runs)
    assert len(stored) == len(runs[0]) and all(r == runs[0] for r in runs)
    assert not worker._inflight
    # a later request is a new capture
    again = worker.snapshot(db, incident_id=inc.id, window_seconds=600, settings=settings)
    assert not set(again) & set(runs[0])


def _faults_of_a_second_buffer(mb: int = 64) -> int:
    """In a child: page faults taken by a big buffer allocated after an equal one was freed."""
    import resource

    faults = []
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        buffer = b"x" * (mb << 20)  # written through: every page touched
        del buffer
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return faults[-1]


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="the evidence children tune glibc's malloc")
def test_evidence_children_reuse_freed_buffers(lite: tuple[Database, Settings]) -> None:
    """A snapshot's buffers are reused by the next one instead of being faulted in again."""
    db, settings = lite
    worker.warm_up(db, settings)
    pages = (64 << 20) // os.sysconf("SC_PAGE_SIZE")
    # the report child keeps glibc's defaults: each 64 MB buffer is mapped afresh
    assert worker._executor("report").submit(_faults_of_a_second_buffer).result() > pages // 2
    assert worker._executor("evidence").submit(_faults_of_a_second_buffer).result() < pages // 20
    # and a warmed child's first big buffer is in its heap already (a first snapshot's)
    first = worker._executor("evidence").submit(_faults_of_a_buffer, worker.WARM_HEAP_MB // 2)
    assert first.result() < pages // 10
    assert _faults_of_a_buffer(worker.WARM_HEAP_MB // 2) > pages  # here: faulted afresh


def _faults_of_a_buffer(mb: int) -> int:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = b"x" * (mb << 20)
    del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_errors_come_back_with_their_message(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    with pytest.raises(FirebreakError, match="inc-missing"):
        worker.write_report(db, incident_id="inc-missing", settings=settings)


def test_in_memory_database_and_opt_out_stay_in_process(tmp_path: Path) -> None:
    memory = Database("sqlite:///:memory:")
    assert worker.in_process(memory, Settings(database_url="sqlite://"))  # type: ignore[call-arg]
    url = f"sqlite:///{tmp_path / 'f.db'}"
    off = Settings(database_url=url, forensics={"report_process": False})  # type: ignore[call-arg]
    assert worker.in_process(open_database(url), off)
    assert not worker.in_process(open_database(url), off, "evidence")
    off = Settings(database_url=url, forensics={"snapshot_processes": 0})  # type: ignore[call-arg]
    assert worker.in_process(open_database(url), off, "evidence")
    assert worker.in_process(memory, Settings(database_url="sqlite://"), "evidence")  # type: ignore[call-arg]


def test_warm_up_runs_a_snapshots_queries_and_writes_nothing(
        lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    inc = make_incident(db, "bot")
    snapshot.warm_up(db, settings)
    worker.warm_up(db, settings)  # the children open the database and do the same
    assert list_evidence(db) == [] and list_policies(db) == []
    assert worker.snapshot(db, incident_id=inc.id, window_seconds=600, settings=settings)


CONTROL_PLANE = """
import os, sys, time
from pathlib import Path
from firebreak.config import Settings
from firebreak.forensics import worker
from firebreak.store import open_database
url = sys.argv[1]
settings = Settings(database_url=url, data_dir=Path(sys.argv[2]))
worker.warm_up(open_database(url), settings)
for pool in worker.NICE:
    worker._executor(pool).submit(os.getpid).result()  # started and past their warm-up
pids = [pid for pool in worker.NICE for pid in worker._executor(pool)._processes]
print(*pids, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_children_exit_when_the_control_plane_is_killed(tmp_path: Path) -> None:
    """SIGKILL runs no atexit hook and shuts no pool down: the children go anyway."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    open_database(url).dispose()
    parent = subprocess.Popen([sys.executable, "-c", CONTROL_PLANE, url, str(tmp_path / "data")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        children = [Forked(int(p)) for p in parent.stdout.readline().split()]
    finally:
        parent.kill()
        parent.wait()
    assert len(children) == 3  # 2 evidence, 1 report
    deadline = time.monotonic() + 10
    left = []
    for child in children:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)  # do not leave them behind when the check fails
            left.append(child.pid)
    assert not left
