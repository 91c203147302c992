"""What the API and CLI share: the loaded playbooks, runs with their steps, decisions."""

from __future__ import annotations

from typing import Any

from firebreak.config import Settings
from firebreak.errors import ValidationFailed
from firebreak.playbooks import approvals
from firebreak.playbooks.loader import load_configured
from firebreak.playbooks.schema import Playbook
from firebreak.store.db import Database
from firebreak.store.playbooks import Step, decide_approval, get_run, list_steps


def playbooks(settings: Settings, engine: Any = None) -> list[Playbook]:
    """The engine's playbooks when it runs, else those the settings point at."""
    if engine is not None:
        return list(engine.playbooks)
    return load_configured(settings)[0]


def summary(pb: Playbook) -> dict[str, Any]:
    return {"name": pb.name, "description": pb.description, "priority": pb.priority,
            "exclusive": pb.exclusive, "enabled": pb.enabled, "dry_run": pb.dry_run,
            "match": pb.match.model_dump(exclude_none=True), "on_resolve": pb.on_resolve,
            "steps": [{"id": s.id, "action": s.action, "approval": s.approval is not None,
                       "parallel": [p.id for p in s.parallel or []]} for s in pb.steps]}


def run_detail(db: Database, run_id: str) -> dict[str, Any]:
    """A run with its step records (definition left out: it is the playbook)."""
    run = get_run(db, run_id)
    return {**run.model_dump(mode="json", exclude={"definition"}),
            "steps": [s.model_dump(mode="json") for s in list_steps(db, run_id)]}


def decide(db: Database, run_id: str, step_id: str, *, approve: bool, actor: str) -> Step:
    """Approve or deny a waiting approval step (NotFound / Conflict otherwise)."""
    get_run(db, run_id)
    return decide_approval(db, run_id, step_id, approve=approve, actor=actor)


def decide_by_link(db: Database, settings: Settings, run_id: str, step_id: str, *,
                   decision: str, expires: int, sig: str) -> Step:
    """Check a signed link and record its decision; ValidationFailed when it is bad."""
    why = approvals.verify(settings, run_id, step_id, decision, expires, sig)
    if why is not None:
        raise ValidationFailed("sig", why)
    return decide(db, run_id, step_id, approve=decision == "approve", actor="signed-link")
