"""`firebreak playbook test`: what a playbook would do for an incident, without acting.

Matching, `when` and templates are evaluated exactly as the engine does; approvals and
actions are only described. Secrets stay as `secret:NAME`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from firebreak.errors import FirebreakError, ValidationFailed
from firebreak.playbooks import matcher, templates
from firebreak.playbooks.loader import load_file
from firebreak.playbooks.schema import Playbook, Step
from firebreak.store.incidents import Incident


def _incident(data: dict[str, Any]) -> Incident:
    now = datetime.now(UTC).isoformat()
    base = {"id": "inc-fixture", "deployment": "default", "severity": "SEV2",
            "status": "detected", "title": "fixture", "opened_at": now, "updated_at": now}
    try:
        return Incident.model_validate({**base, **data})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValidationFailed("incident." + ".".join(map(str, err["loc"])), err["msg"]) from exc


def _describe(step: Step, inputs: dict[str, Any], indent: str = "") -> list[str]:
    if step.parallel:
        lines = [f"{indent}{step.id}: parallel group"]
        for sub in step.parallel:
            lines.extend(_describe(sub, inputs, indent + "  "))
        return lines
    try:
        if step.when and not templates.evaluate(step.when, inputs):
            return [f"{indent}{step.id}: skipped (when is false: {step.when})"]
        if step.approval:
            a = step.approval
            return [f"{indent}{step.id}: wait for approval by {a.role} "
                    f"(timeout {a.timeout:g}s, then {a.on_timeout})"]
        params = templates.render(step.with_, inputs)
    except FirebreakError as exc:
        return [f"{indent}{step.id}: would FAIL: {exc.message} (on_failure: "
                f"{step.on_failure if isinstance(step.on_failure, str) else step.on_failure.goto})"]
    return [f"{indent}{step.id}: {step.action} {json.dumps(params, default=str)}"]


def preview(pb: Playbook, incident: Incident, deployment: dict[str, Any]) -> list[str]:
    """Lines describing the run PB would make for INCIDENT."""
    labels = {**deployment.get("labels", {}), **incident.labels}
    matched = matcher.matches(pb.match, category=incident.category,
                              severity=incident.severity, deployment=incident.deployment,
                              labels=labels)
    lines = [f"playbook {pb.name}: {'matches' if matched else 'does NOT match'} "
             f"{incident.category}/{incident.severity} on {incident.deployment}"
             + (" (dry run)" if pb.dry_run else "")]
    inputs = templates.scope(incident.model_dump(mode="json"), deployment)
    for step in pb.steps:
        lines.extend(_describe(step, inputs, "  "))
    if pb.on_resolve == "undo":
        lines.append("  on resolve: undo containment in reverse order")
    return lines


def preview_files(playbook: Path, incident: Path, deployment: Path | None) -> list[str]:
    """preview() from files, with clear errors for unreadable fixtures."""
    pb = load_file(playbook)
    try:
        inc_data = json.loads(incident.read_text())
        dep_data = json.loads(deployment.read_text()) if deployment else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationFailed("--incident", f"cannot read fixture: {exc}") from exc
    inc = _incident(inc_data)
    versions = dep_data.get("model_versions", [])
    dep = {"name": inc.deployment, "labels": dep_data.get("labels", {}),
           "model_versions": versions, "current_version": versions[-1] if versions else None,
           "previous_version": versions[-2] if len(versions) > 1 else None, **dep_data}
    return preview(pb, inc, dep)
