"""Group commit: batches that arrive together are stored in one transaction.

Each transaction ends with an fsync and writes every B-tree page it touched, so many small
transactions cost far more per event than a few larger ones. A request thread builds its
batch's rows (the payload JSON included) first, queues them and takes the writer lock;
whoever gets the lock first stores every batch queued at that moment in one transaction.
It then takes the publisher lock before letting go of the writer, and publishes the group
one batch at a time in queue order: the next group is inserted and committed meanwhile,
and is published only after this one (it waits for the publisher lock while it holds the
writer, so no third group can slip in between). Nothing is acknowledged before the commit
and the publication of its batch, and subscribers see batches in commit order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from firebreak.events import Event
from firebreak.store import Database
from firebreak.store.events import insert_events, prepare_rows

Publish = Callable[[list[Event]], None]


@dataclass(eq=False)
class _Batch:
    events: list[Event]
    rows: list[tuple[Any, ...]] | None
    publish: Publish | None
    republish: bool
    fresh: list[Event] = field(default_factory=list)
    error: BaseException | None = None
    taken: bool = False  # in a group being stored (set under the writer lock)
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    """Stores batches, several per transaction when they wait together (see module doc)."""

    def __init__(self) -> None:
        self._writer = threading.Lock()  # held while a group is stored
        self._publisher = threading.Lock()  # held while a stored group is published
        self._queue_lock = threading.Lock()
        self._queue: list[_Batch] = []

    def write(self, db: Database, events: list[Event], *, publish: Publish | None = None,
              republish: bool = False) -> list[Event]:
        """Store `events`; returns the new ones (first of each event_id) once committed.

        `publish(out)` runs after the commit, in commit order, with the new events or, with
        `republish`, all of them (the scaled topology: consumers dedupe by id).
        """
        batch = _Batch(events, prepare_rows(db, events), publish, republish)
        with self._queue_lock:
            self._queue.append(batch)
        self._writer.acquire()
        if batch.taken:  # an earlier leader stored it and is publishing its group
            self._writer.release()
        else:
            self._lead(db)
        batch.done.wait()
        if batch.error is not None:
            raise batch.error
        return batch.fresh

    def _lead(self, db: Database) -> None:
        """Store the queue as one group, then publish it (called holding the writer)."""
        group: list[_Batch] = []
        try:
            with self._queue_lock:
                group, self._queue = self._queue, []
            for b in group:
                b.taken = True
            stored = _store(db, group)
            self._publisher.acquire()  # the previous group is published first
        except BaseException as exc:
            self._writer.release()
            for b in group:
                b.error = b.error or exc
                b.done.set()
            raise
        self._writer.release()
        try:
            _finish(group, stored)
        finally:
            self._publisher.release()


def _store(db: Database, group: list[_Batch]) -> bool:
    """Insert and commit `group`; False (each batch holding the error) if nothing was."""
    events = [e for b in group for e in b.events]
    rows: list[tuple[Any, ...]] | None = []
    for b in group:
        if b.rows is None or rows is None:
            rows = None
        else:
            rows += b.rows
    try:
        fresh = insert_events(db, events, rows)
    except BaseException as exc:  # nothing was committed: every batch of the group fails
        for b in group:
            b.error = exc
        return False
    new = {id(e) for e in fresh}
    for b in group:
        b.fresh = [e for e in b.events if id(e) in new]
    return True


def _finish(group: list[_Batch], stored: bool) -> None:
    """Publish each batch of a stored group in order, and release its request."""
    for b in group:
        try:
            out = b.events if b.republish else b.fresh
            if stored and out and b.publish is not None:
                b.publish(out)
        except BaseException as exc:  # stored, but this batch's request reports the failure
            b.error = exc
        finally:
            b.done.set()
