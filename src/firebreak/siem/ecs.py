"""Elastic Common Schema (ECS) documents for incidents, alerts and actions.

Every document carries a stable `event.id`, so a SIEM that indexes on it (the
`elastic_bulk` sink does) stores a record once even when it is delivered twice.
Firebreak-specific fields live under the `firebreak.*` custom field set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from firebreak import __version__
from firebreak.store.incidents import Incident, TimelineEntry

ECS_VERSION = "8.11.0"
# ECS event.severity is numeric; these follow Elastic's risk scores (critical..low).
SEVERITY_SCORE = {"SEV1": 99, "SEV2": 73, "SEV3": 47, "SEV4": 21}
SEVERITY_LEVEL = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "notice"}
SECURITY_FAMILIES = frozenset({"injection", "leakage", "poisoning", "agency"})
INCIDENT_KINDS = frozenset({"status", "severity", "ack", "assign", "correlate", "facts"})


def _ts(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _common(inc: Incident, ts: datetime, dataset: str, event: dict[str, Any]) -> dict[str, Any]:
    tax = inc.taxonomy or {}
    family = str(tax.get("family", ""))
    doc: dict[str, Any] = {
        "@timestamp": _ts(ts),
        "ecs": {"version": ECS_VERSION},
        "event": {"module": "firebreak", "provider": "firebreak", "dataset": dataset,
                  "severity": SEVERITY_SCORE.get(inc.severity, 21),
                  "category": ["intrusion_detection" if family in SECURITY_FAMILIES else "api"],
                  "created": datetime.now(UTC).isoformat(), **event},
        "log": {"level": SEVERITY_LEVEL.get(inc.severity, "notice")},
        "observer": {"vendor": "Firebreak", "product": "Firebreak", "type": "ai-incident-response",
                     "version": __version__},
        "service": {"name": inc.deployment},
        "rule": {"name": inc.category, "category": family or inc.category, "ruleset": "firebreak"},
        "tags": ["firebreak", inc.category, inc.severity],
        "labels": {k: str(v) for k, v in (inc.labels or {}).items()},
        "firebreak": {"incident": {"id": inc.id, "title": inc.title, "status": inc.status,
                                   "severity": inc.severity, "category": inc.category,
                                   "deployment": inc.deployment, "opened_at": _ts(inc.opened_at)},
                      "taxonomy": {k: tax.get(k, []) for k in ("owasp", "atlas", "nist")}},
    }
    if tax.get("atlas"):
        doc["threat"] = {"framework": "MITRE ATLAS",
                         "technique": {"id": list(tax["atlas"])}}
    return doc


def timeline_doc(inc: Incident, entry: TimelineEntry) -> dict[str, Any]:
    """An incident change, an alert transition, or a notification, from a timeline entry."""
    event: dict[str, Any] = {"id": f"firebreak-timeline-{entry.id}", "action": entry.kind}
    if entry.kind == "alert":
        firing = entry.data.get("status", "firing") == "firing"
        dataset = "firebreak.alert"
        event.update(kind="alert", type=["start" if firing else "end"],
                     action="alert-firing" if firing else "alert-resolved")
    elif entry.kind in INCIDENT_KINDS:
        opened = entry.kind == "status" and "before" not in entry.data
        dataset = "firebreak.incident"
        event.update(kind="alert" if opened else "event", type=["creation" if opened else "change"],
                     action="incident-opened" if opened else f"incident-{entry.kind}")
    elif entry.kind == "action":  # a playbook action's intent or outcome
        dataset = "firebreak.action"
        ok = entry.data.get("ok")
        event.update(kind="event", action=str(entry.data.get("action") or "action"),
                     type=["start"] if entry.data.get("phase") == "intent" else ["change"],
                     outcome="unknown" if ok is None else ("success" if ok else "failure"))
    else:  # notify, policy, note, ...
        dataset = "firebreak.action"
        event.update(kind="event", type=["info"], action=entry.kind)
    doc = _common(inc, entry.ts, dataset, event)
    doc["message"] = entry.message
    doc["user"] = {"name": entry.actor}
    doc["firebreak"]["timeline"] = {"id": entry.id, "kind": entry.kind, "data": entry.data}
    return doc


def step_doc(inc: Incident, playbook: str, step: dict[str, Any]) -> dict[str, Any]:
    """A decision on a playbook approval step: who approved or denied what, and when."""
    status = str(step.get("status", ""))
    outcome = {"succeeded": "success", "approved": "success", "failed": "failure",
               "denied": "failure", "timed_out": "failure"}.get(status, "unknown")
    action = step.get("action") or "approval"
    event = {"id": f"firebreak-step-{step['run_id']}-{step['step_key']}-{status}",
             "kind": "event", "type": ["denied" if status == "denied" else "change"],
             "action": action, "outcome": outcome}
    ts = step.get("outcome_at") or step.get("intent_at") or datetime.now(UTC)
    doc = _common(inc, ts, "firebreak.action", event)
    doc["message"] = f"{playbook}: step {step['step_key']} ({action}) {status}" + (
        f": {step['error']}" if step.get("error") else "")
    if step.get("decided_by"):
        doc["user"] = {"name": step["decided_by"]}
    doc["rule"]["name"] = playbook
    doc["firebreak"]["action"] = {"run_id": step["run_id"], "step_id": step["step_key"],
                                  "name": action, "status": status,
                                  "attempt": step.get("attempt", 0)}
    return doc
