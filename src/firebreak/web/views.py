"""What the dashboard's JSON endpoints return, read from the store (no web framework here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from firebreak.store import Database
from firebreak.store.events import list_deployments
from firebreak.store.incidents import get_incident, list_incidents, timeline
from firebreak.store.policy import ALL, get_policy, policy_changes
from firebreak.web import parts
from firebreak.web.health import deployment_health

WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1),
           "6h": timedelta(hours=6), "24h": timedelta(hours=24)}
OPEN = ("detected", "triaged", "contained")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def overview(db: Database, window: str) -> dict[str, Any]:
    """Every deployment with its health series and open-incident count."""
    span = WINDOWS[window]
    open_incidents = [i for i in list_incidents(db, limit=500) if i.status in OPEN]
    deployments = []
    for d in list_deployments(db):
        health = deployment_health(db, d["name"], window=span, buckets=40)
        deployments.append({
            "name": d["name"], "event_count": d["event_count"],
            "last_seen": _json(d["last_seen"]), "model_versions": d["model_versions"],
            "open_incidents": sum(i.deployment == d["name"] for i in open_incidents),
            "health": health,
        })
    return {"window": window, "generated_at": datetime.now(UTC).isoformat(),
            "deployments": deployments,
            "open_incidents": [i.model_dump(mode="json") for i in open_incidents[:20]]}


def incidents(db: Database, **filters: str | None) -> dict[str, Any]:
    """Incidents matching the filters, newest first, with counts per status and severity."""
    chosen = {k: v for k, v in filters.items() if v}
    rows = list_incidents(db, limit=500, **chosen)
    return {"filters": chosen, "count": len(rows),
            "incidents": [i.model_dump(mode="json") for i in rows]}


def incident(db: Database, incident_id: str) -> dict[str, Any]:
    """One incident: timeline, runs and steps, alerts, evidence, and the guard policy in force."""
    inc = get_incident(db, incident_id)
    policies = [get_policy(db, inc.deployment)]
    if inc.deployment != ALL:
        policies.append(get_policy(db, ALL))
    changes = policy_changes(db, incident_id=incident_id, limit=50)
    return {
        "incident": inc.model_dump(mode="json"),
        "timeline": [t.model_dump(mode="json") for t in timeline(db, incident_id)],
        "policies": [p.model_dump(mode="json") for p in policies],
        "policy_changes": [{k: _json(v) for k, v in c.items()} for c in changes],
        "runs": parts.runs(db, incident_id),
        "alerts": parts.alerts(db, incident_id),
        "evidence": parts.evidence(db, incident_id),
    }
