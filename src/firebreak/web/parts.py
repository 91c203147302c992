"""Read-only views of other parts' tables (playbook runs, alerts, silences, evidence, signals).

The dashboard reads these through the store so it does not depend on each part's API
shape; each reader returns plain JSON-ready data, newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from firebreak.store import Database
from firebreak.store.alerting import AlertRow, SignalRow, SilenceRow
from firebreak.store.forensics import EvidenceRow
from firebreak.store.playbooks import list_runs, list_steps


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def _plain(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: _iso(getattr(row, f)) for f in fields}


def runs(db: Database, incident_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Runs with their steps: recorded steps plus the playbook's steps not reached yet."""
    out = []
    for run in list_runs(db, incident_id=incident_id, limit=limit):
        recorded = {s.step_key: s.model_dump(mode="json") for s in list_steps(db, run.id)}
        steps = []
        for spec in _flat(run.definition.get("steps", [])):
            key = str(spec.get("id", ""))
            step = recorded.pop(key, None) or {"step_key": key, "status": "pending",
                                               "action": spec.get("action")}
            step["approval"] = spec.get("approval")
            steps.append(step)
        steps.extend(recorded.values())
        out.append({**run.model_dump(mode="json", exclude={"definition"}), "steps": steps})
    return out


def _flat(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A `parallel` step records its branches, not itself.
    return [leaf for spec in specs
            for leaf in (_flat(spec["parallel"]) if spec.get("parallel") else [spec])]


def alerts(db: Database, incident_id: str) -> list[dict[str, Any]]:
    q = select(AlertRow).where(AlertRow.incident_id == incident_id).order_by(
        AlertRow.starts_at.desc())
    fields = ("fingerprint", "name", "category", "status", "source", "starts_at", "ends_at",
              "value", "labels", "annotations")
    with db.session() as session:
        return [_plain(r, fields) for r in session.scalars(q)]


def silences(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    q = select(SilenceRow).order_by(SilenceRow.ends_at.desc()).limit(limit)
    fields = ("id", "matchers", "starts_at", "ends_at", "created_by", "comment")
    with db.session() as session:
        rows = [_plain(r, fields) for r in session.scalars(q)]
    for r in rows:
        r["state"] = "active" if datetime.fromisoformat(r["ends_at"]) > now else "expired"
    return rows


def evidence(db: Database, incident_id: str) -> list[dict[str, Any]]:
    q = select(EvidenceRow).where(EvidenceRow.incident_id == incident_id).order_by(EvidenceRow.seq)
    fields = ("id", "ts", "kind", "label", "blob_sha256", "size", "media_type", "record_hash")
    with db.session() as session:
        return [_plain(r, fields) for r in session.scalars(q)]


def signal_series(db: Database, deployment: str, since: datetime,
                  category_word: str) -> list[tuple[datetime, float]]:
    """(ts, value) of the signals whose category names `category_word`, for charts."""
    q = (select(SignalRow.ts, SignalRow.value)
         .where(SignalRow.deployment == deployment, SignalRow.ts >= since,
                SignalRow.category.contains(category_word)).order_by(SignalRow.ts))
    with db.session() as session:
        return [(ts if ts.tzinfo else ts.replace(tzinfo=UTC), v) for ts, v in session.execute(q)]
