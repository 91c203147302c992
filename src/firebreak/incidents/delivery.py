"""Durable notification delivery: a queue in the store drained by a background task.

`enqueue_notification` records the message (with a snapshot of the incident) before
anything is sent; the `Deliverer` sends due messages with retries and exponential
backoff, one at a time per (incident, notifier) so each endpoint sees them in order, and
moves a message to the dead-letter list when it fails for good. Sending happens on the
event loop with async I/O (SMTP in a thread), so it never blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from firebreak import metrics
from firebreak.config import NotifierSettings
from firebreak.errors import ValidationFailed
from firebreak.incidents.messages import FORMS, Message
from firebreak.incidents.notifiers import Notifier, NotifyError, factories
from firebreak.store.alerting import AlertRow, NotificationRow
from firebreak.store.db import Database
from firebreak.store.incidents import append_timeline, get_incident

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def enqueue_notification(db: Database, *, incident_id: str, notifier: str,
                         form: str = "engineering", params: dict[str, Any] | None = None,
                         idempotency_key: str | None = None, now: datetime | None = None) -> str:
    """Durably queue one notification for background delivery; returns its id.

    The same `idempotency_key` queues once (the first id is returned again). `params`
    may carry `event` (opened, update, severity, status, resolved, reopened, acknowledged,
    approval), `text`, `approval_url`, `next_update` and, for PagerDuty, `event_action`.
    """
    if form not in FORMS:
        raise ValidationFailed("form", f"must be one of {', '.join(FORMS)}")
    if notifier not in factories():
        raise ValidationFailed("notifier", f"unknown notifier {notifier!r}; known: "
                               f"{', '.join(sorted(factories()))}")
    key = idempotency_key or f"auto:{uuid.uuid4().hex}"
    existing = _id_for_key(db, key)
    if existing:
        return existing
    now = now or utcnow()
    row = NotificationRow(id="ntf-" + uuid.uuid4().hex[:16], idempotency_key=key,
                          incident_id=incident_id, notifier=notifier, form=form,
                          status="pending", params=dict(params or {}),
                          snapshot=incident_snapshot(db, incident_id), attempts=0,
                          next_attempt_at=now, created_at=now)
    try:
        with db.write() as session:
            session.add(row)
    except IntegrityError:  # a concurrent enqueue with the same key won
        return _id_for_key(db, key) or row.id
    return row.id


def _id_for_key(db: Database, key: str) -> str | None:
    with db.session() as session:
        return session.scalar(select(NotificationRow.id)
                              .where(NotificationRow.idempotency_key == key))


def incident_snapshot(db: Database, incident_id: str) -> dict[str, Any]:
    """The incident as plain data plus its alerts, frozen into the queued message."""
    snap = get_incident(db, incident_id).model_dump(mode="json")
    with db.session() as session:
        rows = session.scalars(select(AlertRow).where(AlertRow.incident_id == incident_id)
                               .order_by(AlertRow.starts_at).limit(20))
        snap["alerts"] = [{"fingerprint": r.fingerprint, "name": r.name, "status": r.status,
                           "value": r.value, "category": r.category} for r in rows]
    return snap


def list_notifications(db: Database, *, status: str | None = None,
                       incident_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Queued, sent or dead-lettered notifications, newest first."""
    q = select(NotificationRow).order_by(NotificationRow.seq.desc()).limit(limit)
    if status:
        q = q.where(NotificationRow.status == status)
    if incident_id:
        q = q.where(NotificationRow.incident_id == incident_id)
    cols = ("id", "incident_id", "notifier", "form", "status", "attempts", "last_error",
            "created_at", "sent_at", "next_attempt_at", "params")
    with db.session() as session:
        return [{c: getattr(r, c) for c in cols} for r in session.scalars(q)]


def requeue(db: Database, notification_id: str, now: datetime | None = None) -> None:
    """Move a dead-lettered notification back to the queue."""
    with db.write() as session:
        row = session.scalar(select(NotificationRow).where(NotificationRow.id == notification_id))
        if row is None or row.status != "dead":
            raise ValidationFailed("id", f"{notification_id} is not in the dead-letter list")
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now or utcnow()


def backoff(settings: NotifierSettings, attempts: int) -> float:
    """Seconds before retry number `attempts` (1-based): doubling, capped."""
    delay = settings.backoff_initial_seconds * (2 ** max(0, attempts - 1))
    return float(min(settings.backoff_max_seconds, delay))


class Deliverer:
    """Drains the notification queue in the background."""

    def __init__(self, db: Database, settings: NotifierSettings, *, clock: Clock = utcnow,
                 poll_seconds: float = 0.5, public_url: str | None = None,
                 notifiers: dict[str, Notifier] | None = None) -> None:
        from firebreak.incidents.notifiers import build

        self.db = db
        self.settings = settings
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.public_url = public_url
        self.notifiers = notifiers if notifiers is not None else build(settings)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """Look at the queue now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        timeout = httpx.Timeout(self.settings.timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                try:
                    await self.deliver_due(client)
                except Exception:  # the deliverer must outlive any one bad message
                    log.exception("delivery.failed")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """Try the head message of every (incident, notifier) queue that is due."""
        heads = await asyncio.to_thread(self._due_heads, self.clock())
        await asyncio.gather(*(self._attempt(row, client) for row in heads))
        return len(heads)

    def _due_heads(self, now: datetime) -> list[NotificationRow]:
        q = (select(NotificationRow).where(NotificationRow.status == "pending")
             .order_by(NotificationRow.seq).limit(1000))
        heads: dict[tuple[str, str], NotificationRow] = {}
        with self.db.session() as session:
            for row in session.scalars(q):
                heads.setdefault((row.incident_id, row.notifier), row)
        return [r for r in heads.values() if _aware(r.next_attempt_at) <= now]

    async def _attempt(self, row: NotificationRow, client: httpx.AsyncClient) -> None:
        msg = Message(id=row.id, incident=row.snapshot, form=row.form, params=row.params,
                      created_at=_aware(row.created_at), public_url=self.public_url)
        notifier = self.notifiers.get(row.notifier)
        try:
            if notifier is None:
                raise NotifyError(f"no notifier named {row.notifier!r}", recoverable=False)
            await notifier.send(msg, client)
        except NotifyError as exc:
            await asyncio.to_thread(self._failed, row, exc)
            return
        except Exception as exc:  # a plugin bug: keep it visible but retry
            await asyncio.to_thread(self._failed, row, NotifyError(repr(exc), recoverable=True))
            return
        await asyncio.to_thread(self._sent, row)

    def _sent(self, row: NotificationRow) -> None:
        now = self.clock()
        with self.db.write() as session:
            live = session.get(NotificationRow, row.seq)
            if live is not None:
                live.status, live.sent_at, live.attempts = "sent", now, live.attempts + 1
        append_timeline(self.db, row.incident_id, kind="notify", actor=f"notifier:{row.notifier}",
                        message=f"{row.form} notification sent via {row.notifier}",
                        data={"notification_id": row.id, "event": row.params.get("event")},
                        ts=now)
        metrics.notifications.labels(row.notifier, "sent").inc()

    def _failed(self, row: NotificationRow, exc: NotifyError) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        age = (now - _aware(row.created_at)).total_seconds()
        dead = (not exc.recoverable or attempts >= self.settings.max_attempts
                or age >= self.settings.give_up_after_seconds)
        with self.db.write() as session:
            live = session.get(NotificationRow, row.seq)
            if live is None:
                return
            live.attempts, live.last_error = attempts, exc.message[:1000]
            if dead:
                live.status = "dead"
            else:
                live.next_attempt_at = now + timedelta(seconds=backoff(self.settings, attempts))
        if dead:
            metrics.notifications.labels(row.notifier, "dead").inc()
            append_timeline(self.db, row.incident_id, kind="notify",
                            actor=f"notifier:{row.notifier}", ts=now,
                            message=f"notification via {row.notifier} dead-lettered: {exc.message}",
                            data={"notification_id": row.id})
        else:
            metrics.notifier_retries.labels(row.notifier).inc()
        log.warning("delivery.attempt_failed", notifier=row.notifier, notification=row.id,
                    attempts=attempts, dead=dead, error=exc.message)


def _aware(ts: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
