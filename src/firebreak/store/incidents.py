"""Incidents and their append-only timeline: the case record every later stage reads.

The incidents stage owns how incidents open, grow and close; playbooks, forensics and the
dashboard read them and append to the timeline through these functions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import DateTime, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.errors import NotFound
from firebreak.store.db import Database
from firebreak.store.models import Base

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
Status = Literal["detected", "triaged", "contained", "resolved", "postmortem"]
STATUSES: tuple[str, ...] = ("detected", "triaged", "contained", "resolved", "postmortem")


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    onset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    taxonomy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    assignees: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_incidents_deployment_status", "deployment", "status"),
        Index("ix_incidents_opened_at", "opened_at"),
    )


class TimelineRow(Base):
    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Incident(BaseModel):
    """The read model of an incident."""

    id: str
    deployment: str
    category: str
    severity: Severity
    status: Status
    title: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    onset_at: datetime | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] = Field(default_factory=dict)
    taxonomy: dict[str, Any] = Field(default_factory=dict)
    assignees: dict[str, Any] = Field(default_factory=dict)


class TimelineEntry(BaseModel):
    id: int
    incident_id: str
    ts: datetime
    kind: str = Field(
        description="signal, alert, status, severity, action, policy, notify, note, ...")
    actor: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


def _incident(row: IncidentRow) -> Incident:
    return Incident.model_validate(row, from_attributes=True)


def new_incident_id() -> str:
    return "inc-" + uuid.uuid4().hex[:12]


def create_incident(db: Database, incident: Incident) -> Incident:
    with db.write() as session:
        session.add(IncidentRow(**incident.model_dump()))
        session.add(TimelineRow(incident_id=incident.id, ts=incident.opened_at, kind="status",
                                actor="firebreak", message=f"incident opened: {incident.title}",
                                data={"status": incident.status, "severity": incident.severity}))
    return incident


def get_incident(db: Database, incident_id: str) -> Incident:
    with db.session() as session:
        row = session.get(IncidentRow, incident_id)
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist", incident_id=incident_id)
        return _incident(row)


def incident_status(db: Database, incident_id: str) -> str | None:
    """Just the status (None: no such incident), for a caller that asks often."""
    with db.session() as session:
        return session.scalar(select(IncidentRow.status).where(IncidentRow.id == incident_id))


def list_incidents(db: Database, *, deployment: str | None = None, status: str | None = None,
                   category: str | None = None, severity: str | None = None,
                   limit: int = 200) -> list[Incident]:
    q = select(IncidentRow).order_by(IncidentRow.opened_at.desc()).limit(limit)
    for column, value in ((IncidentRow.deployment, deployment), (IncidentRow.status, status),
                          (IncidentRow.category, category), (IncidentRow.severity, severity)):
        if value is not None:
            q = q.where(column == value)
    with db.session() as session:
        return [_incident(r) for r in session.scalars(q)]


def update_incident(db: Database, incident_id: str, *, actor: str, message: str,
                    kind: str = "status", now: datetime | None = None,
                    **changes: Any) -> Incident:
    """Change fields of an incident and record the change on its timeline, atomically."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        row = session.get(IncidentRow, incident_id, with_for_update=True)
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist", incident_id=incident_id)
        before = {k: getattr(row, k) for k in changes}
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = now
        session.add(TimelineRow(incident_id=incident_id, ts=now, kind=kind, actor=actor,
                                message=message, data={"before": _plain(before),
                                                       "after": _plain(changes)}))
        return _incident(row)


def append_timeline(db: Database, incident_id: str, *, kind: str, actor: str, message: str,
                    data: dict[str, Any] | None = None, ts: datetime | None = None) -> None:
    """Add one entry to an incident's append-only timeline."""
    with db.write() as session:
        session.add(TimelineRow(incident_id=incident_id, ts=ts or datetime.now(UTC), kind=kind,
                                actor=actor, message=message, data=data or {}))


def timeline(db: Database, incident_id: str) -> list[TimelineEntry]:
    q = (select(TimelineRow).where(TimelineRow.incident_id == incident_id)
         .order_by(TimelineRow.ts, TimelineRow.id))
    with db.session() as session:
        return [TimelineEntry.model_validate(r, from_attributes=True) for r in session.scalars(q)]


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
