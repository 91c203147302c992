"""The incident lifecycle: detected → triaged → contained → resolved → postmortem.

Every change goes through `update_incident`, which writes the timeline entry in the same
transaction. Moving forward may skip steps (a contained incident can be resolved at once;
an acknowledgement moves a detected incident to triaged); moving back is only a reopen,
which returns a resolved incident to detected. A postmortem is final.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from firebreak.errors import Conflict, ValidationFailed
from firebreak.incidents.severity import LEVELS
from firebreak.store.db import Database
from firebreak.store.incidents import STATUSES, Incident, get_incident, update_incident

ROLES = ("incident_commander", "comms_lead", "ops_lead", "scribe", "assignee")
OPEN = ("detected", "triaged", "contained")


def transition(db: Database, incident_id: str, status: str, *, actor: str, note: str = "",
               now: datetime | None = None) -> Incident:
    """Move an incident forward to `status`; Conflict if that would go backwards."""
    if status not in STATUSES:
        raise ValidationFailed("status", f"must be one of {', '.join(STATUSES)}")
    inc = get_incident(db, incident_id)
    if STATUSES.index(status) <= STATUSES.index(inc.status):
        raise Conflict(f"incident {incident_id} is {inc.status}; cannot move to {status}",
                       incident_id=incident_id)
    now = now or datetime.now(UTC)
    extra: dict[str, Any] = {"resolved_at": now} if status == "resolved" else {}
    msg = f"status {inc.status} → {status}" + (f": {note}" if note else "")
    return update_incident(db, incident_id, actor=actor, message=msg, kind="status", now=now,
                           status=status, **extra)


def acknowledge(db: Database, incident_id: str, *, actor: str,
                now: datetime | None = None) -> Incident:
    """Record who acknowledged; a detected incident becomes triaged."""
    inc = get_incident(db, incident_id)
    if inc.status not in OPEN:
        raise Conflict(f"incident {incident_id} is {inc.status}; nothing to acknowledge",
                       incident_id=incident_id)
    now = now or datetime.now(UTC)
    assignees = {**inc.assignees, "acknowledged_by": actor,
                 "acknowledged_at": now.isoformat()}
    changes: dict[str, Any] = {"assignees": assignees}
    if inc.status == "detected":
        changes["status"] = "triaged"
    return update_incident(db, incident_id, actor=actor, kind="ack", now=now,
                           message=f"acknowledged by {actor}", **changes)


def assign(db: Database, incident_id: str, *, role: str, person: str, actor: str,
           now: datetime | None = None) -> Incident:
    """Give `role` (incident_commander, comms_lead, ...) to `person`."""
    if role not in ROLES:
        raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}")
    if not person.strip():
        raise ValidationFailed("person", "must not be empty")
    inc = get_incident(db, incident_id)
    assignees = {**inc.assignees, role: person}
    return update_incident(db, incident_id, actor=actor, kind="assign", now=now,
                           message=f"{role} is {person}", assignees=assignees)


def resolve(db: Database, incident_id: str, *, actor: str, note: str = "",
            now: datetime | None = None) -> Incident:
    """Resolve an open incident."""
    return transition(db, incident_id, "resolved", actor=actor, note=note, now=now)


def reopen(db: Database, incident_id: str, *, actor: str, reason: str,
           now: datetime | None = None) -> Incident:
    """Return a resolved incident to detected (the reopen rule in docs/incidents.md)."""
    inc = get_incident(db, incident_id)
    if inc.status != "resolved":
        raise Conflict(f"incident {incident_id} is {inc.status}; only resolved ones reopen",
                       incident_id=incident_id)
    return update_incident(db, incident_id, actor=actor, kind="status", now=now,
                           message=f"reopened: {reason}", status="detected", resolved_at=None)


def set_severity(db: Database, incident_id: str, severity: str, *, actor: str, reason: str,
                 now: datetime | None = None) -> Incident:
    """Re-grade an incident, by hand or by the rubric; the reason goes on the timeline."""
    if severity not in LEVELS:
        raise ValidationFailed("severity", f"must be one of {', '.join(LEVELS)}")
    inc = get_incident(db, incident_id)
    if inc.severity == severity:
        return inc
    return update_incident(db, incident_id, actor=actor, kind="severity", now=now,
                           message=f"severity {inc.severity} → {severity}: {reason}",
                           severity=severity)
