"""Read helpers for the API and CLI: an incident with its alerts, timeline and messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from firebreak.config import NotifierSettings
from firebreak.incidents.delivery import enqueue_notification, list_notifications
from firebreak.store.alerting import AlertRow
from firebreak.store.db import Database
from firebreak.store.incidents import Incident, get_incident, timeline

ALERT_FIELDS = ("fingerprint", "name", "status", "category", "deployment", "source", "labels",
                "annotations", "starts_at", "ends_at", "last_seen_at", "flaps", "value")


def alerts(db: Database, *, incident_id: str | None = None, status: str | None = None,
           limit: int = 500) -> list[dict[str, Any]]:
    """Alerts, most recently seen first."""
    q = select(AlertRow).order_by(AlertRow.last_seen_at.desc()).limit(limit)
    if incident_id:
        q = q.where(AlertRow.incident_id == incident_id)
    if status:
        q = q.where(AlertRow.status == status)
    with db.session() as session:
        return [{f: getattr(r, f) for f in ALERT_FIELDS} | {"incident_id": r.incident_id}
                for r in session.scalars(q)]


def detail(db: Database, incident_id: str) -> dict[str, Any]:
    """The incident, its taxonomy, alerts, timeline and notifications."""
    inc = get_incident(db, incident_id)
    return {**inc.model_dump(mode="json"),
            "alerts": alerts(db, incident_id=incident_id),
            "timeline": [e.model_dump(mode="json") for e in timeline(db, incident_id)],
            "notifications": list_notifications(db, incident_id=incident_id)}


def notify_acknowledged(db: Database, notifiers: NotifierSettings, inc: Incident) -> list[str]:
    """Queue PagerDuty `acknowledge` events for an incident someone acknowledged."""
    ids = []
    for i, route in enumerate(notifiers.routes):
        if route.notifier == "pagerduty":
            ids.append(enqueue_notification(db, incident_id=inc.id, notifier="pagerduty",
                                            form=route.form, idempotency_key=f"ack:{inc.id}:{i}",
                                            params={"event": "acknowledged"}))
    return ids
