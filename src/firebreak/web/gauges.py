"""Gauges refreshed from the store when Prometheus scrapes, so they are right after a restart."""

from __future__ import annotations

from sqlalchemy import func, select

from firebreak import metrics
from firebreak.store import Database
from firebreak.store.incidents import IncidentRow
from firebreak.store.policy import list_policies

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
CLOSED = ("resolved", "postmortem")


def refresh(db: Database) -> None:
    """Set the open-incident and policy-version gauges from what the store holds now."""
    q = (select(IncidentRow.severity, func.count())
         .where(IncidentRow.status.not_in(CLOSED)).group_by(IncidentRow.severity))
    with db.session() as session:
        open_by_severity = {sev: int(n) for sev, n in session.execute(q)}
    for sev in SEVERITIES:
        metrics.incidents_open.labels(severity=sev).set(open_by_severity.get(sev, 0))
    for policy in list_policies(db):
        metrics.policy_version.labels(deployment=policy.deployment).set(policy.version)
