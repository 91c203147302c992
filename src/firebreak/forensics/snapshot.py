"""Snapshot: capture an incident's window as evidence.

What is captured: the incident and its timeline; the events involved, one record per kind;
monitor profiles and signals/alerts (when those stages' tables exist); the model versions
and artifact fingerprints in force; the guard policy and its changes; the config (secrets
masked). Fields named in `forensics.redact_fields` are blanked in captured events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from firebreak.config import Settings, masked
from firebreak.events import Event
from firebreak.forensics import tables
from firebreak.forensics.artifacts import artifacts_in_force, check_artifacts
from firebreak.forensics.case import Case, load_case
from firebreak.forensics.evidence import Item, add_evidence, json_item
from firebreak.store.db import Database
from firebreak.store.policy import ALL, get_policy, policy_changes

MAX_IDS_IN_META = 2000
REDACTED = "[redacted]"


def take_snapshot(
    db: Database, settings: Settings, incident_id: str, window_seconds: int = 900
) -> list[str]:
    """Capture the incident's window; returns the new evidence ids."""
    case = load_case(db, incident_id, window_seconds)
    items = [
        json_item(
            "incident",
            f"incident {incident_id} and its timeline",
            {
                "incident": case.incident.model_dump(mode="json"),
                "timeline": [t.model_dump(mode="json") for t in case.entries],
            },
        )
    ]
    items += _event_items(case.events + case.history, settings.forensics.redact_fields)
    items += _context_items(db, settings, case)
    return add_evidence(db, settings, incident_id, items)


def _event_items(events: list[Event], redact: list[str]) -> list[Item]:
    by_kind: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for e in events:
        by_kind[e.kind][e.event_id] = _redacted(
            e.model_dump(mode="json", exclude_none=True), redact
        )
    items = []
    for kind, rows in sorted(by_kind.items()):
        ids = list(rows)
        items.append(
            json_item(
                f"events:{kind}",
                f"{len(ids)} {kind} events",
                list(rows.values()),
                event_kind=kind,
                count=len(ids),
                event_ids=ids[:MAX_IDS_IN_META],
            )
        )
    return items


def _redacted(event: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    for name in fields:
        if name in event:
            event[name] = REDACTED
        if name in event.get("attributes", {}):
            event["attributes"][name] = REDACTED
    return event


def _context_items(db: Database, settings: Settings, case: Case) -> list[Item]:
    dep = case.incident.deployment
    versions: dict[str, dict[str, Any]] = {}
    for e in case.events:
        if e.model_version:
            v = versions.setdefault(e.model_version, {"first_seen": e.ts, "count": 0})
            v["count"], v["last_seen"] = v["count"] + 1, e.ts
    artifacts = check_artifacts(db, dep, artifacts_in_force(settings, dep, case.events))
    policy = {
        "deployment": get_policy(db, dep).model_dump(mode="json"),
        "all": get_policy(db, ALL).model_dump(mode="json"),
        "changes": [
            c for c in policy_changes(db, deployment=dep) + policy_changes(db, deployment=ALL)
        ],
    }
    span: dict[str, Any] = {"deployment": dep, "since": case.start, "until": case.end}
    items = [
        json_item(
            "model_versions",
            f"model versions of {dep} in the window",
            {"versions": versions, "artifacts": artifacts},
        ),
        json_item("policy", f"guard policy of {dep} in force", policy),
        json_item("config", "effective settings (secrets masked)", masked(settings)),
    ]
    profiles = tables.read_rows(db, "profile", **span)
    if profiles:
        items.append(
            json_item(
                "monitor_profiles",
                f"{len(profiles)} monitor profiles before and after onset",
                profiles,
            )
        )
    signals = tables.read_rows(db, "signal", **span) + tables.read_rows(db, "alert", **span)
    if signals:
        items.append(json_item("signals", f"{len(signals)} signals and alerts", signals))
    return items


def evidence_index(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """kind -> evidence ids, newest snapshot last (used to cite evidence in findings)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in records:
        out[r["kind"]].append(r["id"])
    return {k: v[-1:] for k, v in out.items()}  # cite the latest capture of each kind
