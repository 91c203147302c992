"""The merged timeline: the incident's own entries plus signals, alerts, policy changes,
model-version changes, document ingestion, training batches, notifications and evidence."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from firebreak.events import Event
from firebreak.forensics import tables
from firebreak.forensics.case import Case, utc
from firebreak.forensics.evidence import list_evidence
from firebreak.store.db import Database
from firebreak.store.policy import ALL, policy_changes


def entry(ts: datetime, kind: str, source: str, message: str, **ref: Any) -> dict[str, Any]:
    return {"ts": utc(ts), "kind": kind, "source": source, "message": message, "ref": ref}


def merged_timeline(db: Database, case: Case) -> list[dict[str, Any]]:
    """Every dated thing about the incident, oldest first."""
    out = [entry(t.ts, t.kind, "incident", t.message, timeline_id=t.id) for t in case.entries]
    out += _external(db, case)
    out += _policy(db, case)
    out += _versions(case.events)
    out += _ingestion(case)
    out += _captures(db, case)
    out.append(entry(case.onset, "onset", "forensics", "estimated onset"))
    return sorted(out, key=lambda e: e["ts"])


def _captures(db: Database, case: Case) -> list[dict[str, Any]]:
    """One entry per capture (records written together share a timestamp)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in list_evidence(db, case.incident.id):
        groups[r["ts"]].append(r)
    return [
        entry(
            datetime.fromisoformat(ts.replace("Z", "+00:00")),
            "evidence",
            "forensics",
            f"captured {len(rs)} evidence records: " + ", ".join(r["kind"] for r in rs),
            evidence_ids=[r["id"] for r in rs],
        )
        for ts, rs in groups.items()
    ]


def _external(db: Database, case: Case) -> list[dict[str, Any]]:
    out = []
    span: dict[str, Any] = {
        "deployment": case.incident.deployment,
        "since": case.start,
        "until": case.end,
    }
    for part, kind in (("signal", "signal"), ("alert", "alert")):
        for r in tables.read_rows(db, part, **span):
            if r["_ts"] is not None and not r["_table"].startswith("incident"):
                out.append(entry(r["_ts"], kind, r["_table"], _describe(r), row_id=r.get("id")))
    for r in tables.read_rows(db, "notification", incident_id=case.incident.id):
        if r["_ts"] is not None:
            out.append(entry(r["_ts"], "notify", r["_table"], _describe(r), row_id=r.get("id")))
    return out + _playbook_steps(db, case)


def _playbook_steps(db: Database, case: Case) -> list[dict[str, Any]]:
    """Actions the playbook engine ran for this incident (intent and outcome)."""
    runs = tables.read_rows(db, "playbook_runs", incident_id=case.incident.id)
    ids = [r["id"] for r in runs if r.get("id")]
    if not ids:
        return []
    out = []
    for r in tables.read_rows(db, "playbook_steps", where={"run_id": ids}):
        if r["_ts"] is not None and r.get("action"):
            out.append(
                entry(
                    r["_ts"],
                    "action",
                    "playbook",
                    f"{r['action']} ({r.get('step_key')}): {r.get('status')}",
                    run_id=r["run_id"],
                )
            )
    return out


def _describe(row: dict[str, Any]) -> str:
    parts = [
        str(row[k])
        for k in ("status", "detector", "metric", "name", "title", "channel", "message", "summary")
        if row.get(k)
    ]
    return " · ".join(parts)[:300] or row["_table"]


def _policy(db: Database, case: Case) -> list[dict[str, Any]]:
    out = []
    for dep in (case.incident.deployment, ALL):
        for c in policy_changes(db, deployment=dep):
            if case.start <= utc(c["ts"]) <= case.end or c["incident_id"] == case.incident.id:
                out.append(
                    entry(
                        c["ts"],
                        "policy",
                        "guard_policy",
                        f"{dep} policy v{c['version']} by {c['actor']}: "
                        f"{c['reason'] or 'no reason given'}",
                        change_id=c["id"],
                    )
                )
    return out


def _versions(events: list[Event]) -> list[dict[str, Any]]:
    seen: dict[str, datetime] = {}
    for e in events:
        if e.model_version and e.model_version not in seen and e.kind in ("llm.call", "prediction"):
            seen[e.model_version] = e.ts
    return [
        entry(ts, "model_version", "telemetry", f"model version {v} first seen")
        for v, ts in seen.items()
    ]


def _ingestion(case: Case) -> list[dict[str, Any]]:
    per_source: dict[str, list[Event]] = defaultdict(list)
    out = []
    for e in case.history:
        if e.kind == "rag.document":
            per_source[getattr(e, "source", "?")].append(e)
        elif e.kind == "training.batch":
            out.append(
                entry(
                    e.ts,
                    "training",
                    "telemetry",
                    f"training batch {getattr(e, 'batch_id', '?')} "
                    f"({len(getattr(e, 'rows', []))} rows)",
                    event_id=e.event_id,
                )
            )
    for source, docs in per_source.items():
        out.append(
            entry(
                docs[0].ts,
                "ingestion",
                "telemetry",
                f"{len(docs)} documents ingested from {source} (until {utc(docs[-1].ts):%H:%M:%S})",
                event_id=docs[0].event_id,
            )
        )
    return out
