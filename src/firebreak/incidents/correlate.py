"""Correlation: which incident a newly firing alert belongs to.

Rules, in order (docs/incidents.md):

1. join: an open incident (detected, triaged, contained) of the same deployment whose
   category is in the same taxonomy family, with an alert seen within the correlation
   window, takes the alert;
2. reopen: otherwise a resolved incident (not yet in postmortem) of the same deployment
   and the same category, resolved within the reopen window, is reopened and takes it;
3. open: otherwise a new incident opens.

An unrelated category (another family) therefore always opens its own incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select

from firebreak.config import IncidentSettings
from firebreak.incidents.taxonomy import family
from firebreak.store.alerting import AlertRow
from firebreak.store.db import Database
from firebreak.store.incidents import IncidentRow

OPEN = ("detected", "triaged", "contained")


@dataclass(frozen=True)
class Placement:
    """Where an alert goes: an incident to join or reopen, or a new one."""

    action: Literal["join", "reopen", "open"]
    incident_id: str | None = None


def place(db: Database, *, deployment: str, category: str, now: datetime,
          settings: IncidentSettings) -> Placement:
    """Apply the three rules above."""
    fam = family(category)
    window = timedelta(seconds=settings.correlation_window_seconds)
    with db.session() as session:
        open_rows = session.scalars(
            select(IncidentRow).where(IncidentRow.deployment == deployment,
                                      IncidentRow.status.in_(OPEN))
            .order_by(IncidentRow.opened_at.desc()))
        for row in open_rows:
            if family(row.category) != fam:
                continue
            seen = session.scalar(select(func.max(AlertRow.last_seen_at))
                                  .where(AlertRow.incident_id == row.id))
            last = _aware(seen or row.updated_at)
            if now - last <= window:
                return Placement("join", row.id)
        since = now - timedelta(seconds=settings.reopen_window_seconds)
        resolved = session.scalars(
            select(IncidentRow).where(IncidentRow.deployment == deployment,
                                      IncidentRow.category == category,
                                      IncidentRow.status == "resolved")
            .order_by(IncidentRow.resolved_at.desc()))
        for row in resolved:
            if row.resolved_at is not None and _aware(row.resolved_at) >= since:
                return Placement("reopen", row.id)
    return Placement("open")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
