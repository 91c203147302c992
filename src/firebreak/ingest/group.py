"""Group commit: batches that arrive together are stored in one transaction.

Each transaction ends with an fsync and writes every B-tree page it touched, so many small
transactions cost far more per event than a few larger ones. A request thread queues its
batch and takes the writer lock; whoever gets the lock first stores every batch queued at
that moment in one transaction, then publishes them one by one in queue order. The others
find their batch already done when their turn comes. Nothing is acknowledged before the
commit, and subscribers still see batches in commit order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firebreak.events import Event
from firebreak.store import Database
from firebreak.store.events import insert_events

Publish = Callable[[list[Event]], None]


@dataclass(eq=False)
class _Batch:
    events: list[Event]
    publish: Publish | None
    republish: bool
    fresh: list[Event] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class GroupCommit:
    """Stores batches, several per transaction when they wait together (see module doc)."""

    def __init__(self) -> None:
        self._writer = threading.Lock()  # held while a group is stored and published
        self._queue_lock = threading.Lock()
        self._queue: list[_Batch] = []

    def write(self, db: Database, events: list[Event], *, publish: Publish | None = None,
              republish: bool = False) -> list[Event]:
        """Store `events`; returns the new ones (first of each event_id) once committed.

        `publish(out)` runs after the commit, in commit order, with the new events or, with
        `republish`, all of them (the scaled topology: consumers dedupe by id).
        """
        batch = _Batch(events, publish, republish)
        with self._queue_lock:
            self._queue.append(batch)
        with self._writer:
            if not batch.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                _store(db, group)
        if batch.error is not None:
            raise batch.error
        return batch.fresh


def _store(db: Database, group: list[_Batch]) -> None:
    try:
        fresh = insert_events(db, [e for b in group for e in b.events])
    except BaseException as exc:  # nothing was committed: every batch of the group fails
        for b in group:
            b.error, b.done = exc, True
        return
    new = {id(e) for e in fresh}
    for b in group:
        b.fresh = [e for e in b.events if id(e) in new]
        out = b.events if b.republish else b.fresh
        try:
            if out and b.publish is not None:
                b.publish(out)
        except BaseException as exc:  # stored, but this batch's request reports the failure
            b.error = exc
        b.done = True
