"""Running one step durably: intent before the call, outcome after, retries, timeouts.

A step whose record is already final is replayed from the record, never re-executed; a
step left in `intent` by a crash is called again with the same idempotency key, which the
action turns into a no-op when its effect already happened.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from firebreak import metrics
from firebreak.actions.base import Action, ActionContext, ActionResult, with_secrets
from firebreak.actions.catalog import get_action
from firebreak.config import Settings
from firebreak.errors import ActionError, FirebreakError
from firebreak.playbooks import templates
from firebreak.playbooks.schema import Playbook, Step
from firebreak.store.db import Database
from firebreak.store.incidents import Incident, get_incident, update_incident
from firebreak.store.models import DeploymentRow
from firebreak.store.playbooks import Run, get_step, record_step
from firebreak.store.playbooks import Step as StepRecord

log = structlog.get_logger(__name__)
OK_STATUSES = ("succeeded", "skipped", "approved", "dry_run")


def step_ok(rec: StepRecord) -> bool:
    """Whether a final step record counts as success for what comes next."""
    return rec.status in OK_STATUSES or (rec.status == "timed_out"
                                         and bool(rec.result.get("proceeded")))


def deployment_view(db: Database, incident: Incident) -> dict[str, Any]:
    """The deployment as templates see it: name, labels, versions (current, previous)."""
    with db.session() as session:
        row = session.get(DeploymentRow, incident.deployment)
    versions = list(row.model_versions) if row is not None else []
    return {"name": incident.deployment,
            "labels": {**(row.labels if row is not None else {}), **incident.labels},
            "model_versions": versions,
            "current_version": versions[-1] if versions else None,
            "previous_version": versions[-2] if len(versions) > 1 else None}


def _redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


def _secret_values(raw: Any, resolved: Any) -> list[str]:
    if isinstance(raw, str):
        return [resolved] if raw.startswith("secret:") and isinstance(resolved, str) else []
    if isinstance(raw, dict):
        return [v for k in raw for v in _secret_values(raw[k], resolved[k])]
    if isinstance(raw, list):
        return [v for a, b in zip(raw, resolved, strict=True) for v in _secret_values(a, b)]
    return []


@dataclass
class StepRunner:
    """Executes the steps of one run; one per run task."""

    db: Database
    settings: Settings
    run: Run
    playbook: Playbook

    def context(self, step_key: str, incident: Incident, **extras: Any) -> ActionContext:
        return ActionContext(db=self.db, settings=self.settings, incident=incident,
                             deployment=deployment_view(self.db, incident), run_id=self.run.id,
                             step_id=step_key, dry_run=self.run.dry_run, extras=extras)

    def note(self, step_key: str, message: str, **data: Any) -> dict[str, Any]:
        """Timeline fields for one record (added in the record's own commit)."""
        return {"incident_id": self.run.incident_id, "actor": f"playbook:{self.playbook.name}",
                "message": message, "data": {"run_id": self.run.id, "step_id": step_key, **data}}

    async def action_step(self, step: Step) -> bool:
        """Run an action step (when, template, retries, timeout) and say if it succeeded."""
        rec = get_step(self.db, self.run.id, step.id)
        if rec is not None and rec.status not in ("intent", "retrying", "pending"):
            return step_ok(rec)
        incident = get_incident(self.db, self.run.incident_id)
        ctx = self.context(step.id, incident)
        if rec is not None and rec.params:  # in doubt: repeat the recorded call exactly
            return await self._finish(step, ctx, rec.params, rec, incident)
        inputs = templates.scope(incident.model_dump(mode="json"), ctx.deployment)
        try:
            if step.when and not templates.evaluate(step.when, inputs):
                record_step(self.db, self.run.id, step.id, status="skipped", action=step.action,
                            outcome_at=_now(), timeline=self.note(
                                step.id, f"step {step.id} skipped: `when` is false"))
                return True
            params = templates.render(step.with_, inputs)
        except FirebreakError as exc:
            return self._fail(step.id, step.action, rec, exc.message)
        if self.run.dry_run:
            record_step(self.db, self.run.id, step.id, status="dry_run", action=step.action,
                        params=params, outcome_at=_now(), timeline=self.note(
                            step.id, f"dry run: would run {step.action}", params=params))
            return True
        return await self._finish(step, ctx, params, rec, incident)

    async def _finish(self, step: Step, ctx: ActionContext, params: dict[str, Any],
                      rec: StepRecord | None, incident: Incident) -> bool:
        action = get_action(str(step.action))
        result = await self.attempts(step, action, ctx, params, rec, undo_of=None)
        if result.ok and (step.containment if step.containment is not None
                          else action.containment):
            self._contain(step, incident)
        return result.ok

    async def attempts(self, step: Step, action: Action, ctx: ActionContext,
                       params: dict[str, Any], rec: StepRecord | None,
                       undo_of: ActionResult | None) -> ActionResult:
        """Intent, call, outcome; again while the failure is recoverable and retries remain."""
        key, name = ctx.step_id, str(step.action)
        attempt = rec.attempt if rec is not None else 0
        if rec is not None and rec.status == "intent":
            log.info("playbook.step_in_doubt", run_id=self.run.id, step=key, attempt=attempt)
        while True:
            attempt += 1
            verb = "undo" if undo_of is not None else "run"
            record_step(self.db, self.run.id, key, status="intent", action=name, params=params,
                        attempt=attempt, intent_at=_now(), timeline=self.note(
                            key, f"{verb} {name} (step {key}, attempt {attempt})",
                            phase="intent", action=name, params=params))
            result = await self._call(step, action, ctx, params, undo_of)
            metrics.actions.labels(name, "ok" if result.ok else "failed").inc()
            final = result.ok or not result.recoverable or attempt > step.retry.count
            status = "succeeded" if result.ok else ("failed" if final else "retrying")
            record_step(self.db, self.run.id, key, status=status, result=result.model_dump(),
                        error="" if result.ok else result.detail, outcome_at=_now(),
                        timeline=self.note(key, f"{name} {status}: {result.detail}",
                                           phase="outcome", action=name, ok=result.ok))
            if final:
                return result
            delay = min(step.retry.backoff * 2 ** (attempt - 1), step.retry.max_backoff)
            await asyncio.sleep(delay)

    async def _call(self, step: Step, action: Action, ctx: ActionContext,
                    params: dict[str, Any], undo_of: ActionResult | None) -> ActionResult:
        secrets: list[str] = []
        try:
            resolved = with_secrets(params, self.settings)
            secrets = _secret_values(params, resolved)
            call = (action.undo, ctx, undo_of) if undo_of is not None else (
                action.run, ctx, resolved)
            result = await asyncio.wait_for(asyncio.to_thread(*call), step.timeout)
        except TimeoutError:
            result = ActionResult(ok=False, recoverable=True,
                                  detail=f"timed out after {step.timeout:g}s")
        except ActionError as exc:
            result = ActionResult(ok=False, recoverable=exc.recoverable, detail=exc.message)
        except Exception as exc:  # an action's bug must fail the step, not the engine
            log.exception("playbook.action_crashed", action=step.action)
            result = ActionResult(ok=False, recoverable=False,
                                  detail=f"{type(exc).__name__}: {exc}")
        result.detail = _redact(result.detail, secrets)
        return result

    def _fail(self, key: str, action: str | None, rec: StepRecord | None, why: str) -> bool:
        record_step(self.db, self.run.id, key, status="failed", action=action, error=why,
                    attempt=(rec.attempt if rec else 0), outcome_at=_now(),
                    timeline=self.note(key, f"step {key} failed: {why}", phase="outcome"))
        return False

    def _contain(self, step: Step, incident: Incident) -> None:
        current = get_incident(self.db, incident.id)
        if current.status in ("detected", "triaged"):
            update_incident(self.db, incident.id, actor=f"playbook:{self.playbook.name}",
                            message=f"contained by step {step.id} ({step.action})",
                            status="contained")


def _now() -> datetime:
    return datetime.now(UTC)
