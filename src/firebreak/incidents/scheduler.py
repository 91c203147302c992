"""The periodic part of the incidents stage: auto-resolution and notification decisions.

Every tick: an open incident whose alerts have all been resolved for
`auto_resolve_after_seconds` is resolved; then each live incident is looked at through
`alerting.decide` and, when it is time, one notification per matching route is queued
(idempotency key `auto:<incident>:<n>:<route>`, so a repeated tick queues nothing twice).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from firebreak.config import IncidentSettings, NotifierSettings
from firebreak.incidents import lifecycle
from firebreak.incidents.alerting import GroupView, decide, state_key
from firebreak.incidents.delivery import enqueue_notification
from firebreak.incidents.pipeline import Change, MuteContext, Pipeline
from firebreak.incidents.severity import rank
from firebreak.store.alerting import AlertRow, NotificationRow
from firebreak.store.db import Database
from firebreak.store.incidents import Incident, IncidentRow, append_timeline


class Scheduler:
    """Decides, tick by tick, what resolves and what is notified."""

    def __init__(self, db: Database, incidents: IncidentSettings, notifiers: NotifierSettings,
                 pipeline: Pipeline, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = incidents
        self.notifiers = notifiers
        self.pipeline = pipeline
        self.clock = clock
        self._suppressed: set[tuple[str, str]] = set()

    def tick(self) -> tuple[list[Change], int]:
        """One pass; returns (incident changes, notifications queued)."""
        now = self.clock()
        changes = self._auto_resolve(now)
        live = self._live(now)
        context = self.pipeline.mute_context(now) if live else None
        queued = sum(self._notify(inc, now, context) for inc in live)
        return changes, queued

    def _live(self, now: datetime) -> list[Incident]:
        since = now - timedelta(seconds=self.settings.reopen_window_seconds)
        q = select(IncidentRow).where(IncidentRow.status.in_((*lifecycle.OPEN, "resolved")))
        with self.db.session() as session:
            rows = list(session.scalars(q))
            return [Incident.model_validate(r, from_attributes=True) for r in rows
                    if r.status != "resolved" or _aware(r.resolved_at or now) >= since]

    def _auto_resolve(self, now: datetime) -> list[Change]:
        quiet = timedelta(seconds=self.settings.auto_resolve_after_seconds)
        done: list[Change] = []
        with self.db.session() as session:
            open_ids = list(session.scalars(select(IncidentRow.id)
                                            .where(IncidentRow.status.in_(lifecycle.OPEN))))
            todo = []
            for inc_id in open_ids:
                alerts = list(session.scalars(select(AlertRow)
                                              .where(AlertRow.incident_id == inc_id)))
                if alerts and all(a.status == "resolved" and a.ends_at is not None
                                  and now - _aware(a.ends_at) >= quiet for a in alerts):
                    todo.append(inc_id)
        for inc_id in todo:
            lifecycle.resolve(self.db, inc_id, actor="firebreak", now=now,
                              note=f"all alerts resolved for {quiet.total_seconds():g}s")
            done.append({"incident_id": inc_id, "change": "resolved"})
        return done

    def _view(self, inc: Incident, now: datetime,
              context: MuteContext | None) -> tuple[GroupView, dict[str, str], int]:
        with self.db.session() as session:
            firing = list(session.scalars(select(AlertRow).where(
                AlertRow.incident_id == inc.id, AlertRow.status == "firing")))
            last = session.scalar(select(NotificationRow).where(
                NotificationRow.idempotency_key.like(f"auto:{inc.id}:%"))
                .order_by(NotificationRow.seq.desc()).limit(1))
        unmuted, mutes = [], {}
        for alert in firing:
            why = self.pipeline.muted(alert, now, context)
            if why:
                mutes.update(why)
            else:
                unmuted.append(alert.fingerprint)
        view = GroupView(opened_at=_aware(inc.opened_at), status=inc.status,
                         key=state_key(inc.status, inc.severity, unmuted),
                         firing_unmuted=len(unmuted), firing_muted=len(firing) - len(unmuted),
                         last_sent_at=_aware(last.created_at) if last else None,
                         last_sent_key=str(last.params.get("state_key")) if last else None)
        sent = int(last.params.get("n", 0)) + 1 if last else 0
        return view, mutes, sent

    def _notify(self, inc: Incident, now: datetime, context: MuteContext | None) -> int:
        view, mutes, n = self._view(inc, now, context)
        if view.firing_unmuted == 0 and view.firing_muted and (inc.id, view.key) not in (
                self._suppressed):
            self._suppressed.add((inc.id, view.key))
            append_timeline(self.db, inc.id, kind="notify", actor="firebreak", ts=now,
                            message="notifications suppressed: every firing alert is muted",
                            data=mutes)
        event = decide(view, now, self.settings)
        if event is None:
            return 0
        queued = 0
        for i, route in enumerate(self.notifiers.routes):
            if rank(inc.severity) > rank(route.min_severity):
                continue
            enqueue_notification(self.db, incident_id=inc.id, notifier=route.notifier,
                                 form=route.form, now=now,
                                 idempotency_key=f"auto:{inc.id}:{n}:{i}",
                                 params={"event": event, "state_key": view.key, "n": n})
            queued += 1
        return queued


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
