"""The durable engine: starts runs for incidents, drives them step by step, resumes them.

Every decision is replayed from the store: a run's steps are walked in order and each one
either replays its final record or executes (see executor). So an engine killed at any
point and started again continues where the record ends, and calls again only the one
action whose outcome was not yet recorded, with the same idempotency key.

Runs carry a lease (owner, lease_until); an engine resumes its own runs at once after a
restart and another engine's runs once their lease has run out.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import structlog

from firebreak.actions.base import ActionResult
from firebreak.actions.catalog import get_action
from firebreak.config import Settings
from firebreak.incidents.lifecycle import OPEN
from firebreak.playbooks import approvals, matcher
from firebreak.playbooks.executor import StepRunner, deployment_view, step_ok
from firebreak.playbooks.schema import Goto, Playbook, Step
from firebreak.store.db import Database
from firebreak.store.incidents import get_incident, list_incidents
from firebreak.store.playbooks import (
    RUN_ACTIVE,
    Run,
    claim_runs,
    create_run,
    get_run,
    get_step,
    list_runs,
    list_steps,
    record_step,
    renew_lease,
    runs_of_closed_incidents,
    set_run_status,
)

log = structlog.get_logger(__name__)
POLL_SECONDS = 0.2


class _Stop(Exception):
    """The run was asked to compensate (incident resolved) while it was running."""


class Engine:
    """Starts, drives and resumes playbook runs for one process."""

    def __init__(self, db: Database, settings: Settings, playbooks: list[Playbook]) -> None:
        self.db, self.settings, self.playbooks = db, settings, playbooks
        self.owner = settings.playbooks.engine_id or socket.gethostname()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._detached: set[asyncio.Future[bool]] = set()  # steps left running by a stopped run

    def _lease(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.settings.playbooks.lease_seconds)

    async def start(self) -> None:
        """Resume our unfinished runs and catch up with changes whose message was lost:
        open incidents get the runs they lack and re-classified ones their superseded runs
        undone; runs of resolved incidents not undone yet (the latest 1,000, one query) are
        undone where their playbook says `on_resolve: undo`."""
        self._heartbeat = asyncio.create_task(self._renew())
        for run in await asyncio.to_thread(claim_runs, self.db, owner=self.owner,
                                           lease_until=self._lease()):
            self._spawn(run.id)
        for incident in await asyncio.to_thread(list_incidents, self.db, limit=1000):
            if incident.status in OPEN:
                for run_id in await asyncio.to_thread(self.supersede, incident.id):
                    self._spawn(run_id)
            if incident.status in ("detected", "triaged"):
                await self.start_for(incident.id)
        closed = await asyncio.to_thread(runs_of_closed_incidents, self.db)
        for run_id in await asyncio.to_thread(self._undo_on_resolve, closed):
            self._spawn(run_id)

    async def stop(self) -> None:
        tasks = [*self.tasks.values(), *self._detached,
                 *([self._heartbeat] if self._heartbeat else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    async def on_change(self, incident_id: str, change: str) -> None:
        """React to an incidents-topic message."""
        if change in ("opened", "severity", "category", "reopened", "status"):
            await self.start_for(incident_id)
        if change == "resolved":
            for run_id in await asyncio.to_thread(self.resolve, incident_id):
                self._spawn(run_id)
        if change == "category":
            for run_id in await asyncio.to_thread(self.supersede, incident_id):
                self._spawn(run_id)

    async def start_for(self, incident_id: str) -> list[Run]:
        """Start a run of every matching playbook the incident does not have yet."""
        incident = await asyncio.to_thread(get_incident, self.db, incident_id)
        if incident.status in ("resolved", "postmortem"):
            return []
        labels = (await asyncio.to_thread(deployment_view, self.db, incident))["labels"]
        started = []
        for pb in matcher.select(self.playbooks, category=incident.category,
                                 severity=incident.severity, deployment=incident.deployment,
                                 labels=labels):
            run = await asyncio.to_thread(
                create_run, self.db, incident_id=incident.id, playbook=pb.name,
                definition=pb.model_dump(mode="json", by_alias=True),
                dry_run=pb.dry_run or self.settings.playbooks.dry_run, owner=self.owner,
                lease_until=self._lease())
            if run is not None:
                log.info("playbook.run_started", run_id=run.id, playbook=pb.name,
                         incident_id=incident.id)
                started.append(run)
                self._spawn(run.id)
        return started

    def resolve(self, incident_id: str) -> list[str]:
        """Mark the incident's runs with `on_resolve: undo` for compensation; their ids."""
        return self._undo_on_resolve(list_runs(self.db, incident_id=incident_id))

    def _undo_on_resolve(self, runs: list[Run]) -> list[str]:
        marked = []
        for run in runs:
            pb = Playbook.model_validate(run.definition)
            if pb.on_resolve == "undo" and not run.dry_run and run.status not in (
                    "compensating", "compensated"):
                set_run_status(self.db, run.id, "compensating")
                marked.append(run.id)
        return marked

    def supersede(self, incident_id: str) -> list[str]:
        """Mark for compensation the runs of playbooks that no longer answer the incident's
        category; their ids. A re-classified incident (a generic symptom such as drift,
        then its diagnosis) is contained the way its diagnosis says, and what the symptom's
        playbook did is undone whatever its `on_resolve`."""
        category = get_incident(self.db, incident_id).category
        marked = []
        for run in list_runs(self.db, incident_id=incident_id):
            pb = Playbook.model_validate(run.definition)
            if not matcher.answers_category(pb.match, category) and not run.dry_run and (
                    run.status not in ("compensating", "compensated")):
                set_run_status(self.db, run.id, "compensating")
                marked.append(run.id)
        return marked

    def _spawn(self, run_id: str) -> None:
        if run_id in self.tasks and not self.tasks[run_id].done():
            return
        task = asyncio.get_running_loop().create_task(self._drive(run_id))
        self.tasks[run_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(run_id, None))

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.settings.playbooks.lease_seconds / 3)
            for run_id in list(self.tasks):
                await asyncio.to_thread(renew_lease, self.db, run_id, owner=self.owner,
                                        lease_until=self._lease())

    async def _drive(self, run_id: str) -> None:
        try:
            run = await asyncio.to_thread(get_run, self.db, run_id)
            runner = StepRunner(self.db, self.settings, run,
                                Playbook.model_validate(run.definition))
            if run.status in ("running", "waiting"):
                status = await self._steps(runner)
                await asyncio.to_thread(set_run_status, self.db, run_id, status,
                                        unless=("compensating",))
            if (await asyncio.to_thread(get_run, self.db, run_id)).status == "compensating":
                await self._compensate(runner)
                await asyncio.to_thread(set_run_status, self.db, run_id, "compensated")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken run must not take the engine down
            log.exception("playbook.run_crashed", run_id=run_id)
            await asyncio.to_thread(set_run_status, self.db, run_id, "failed",
                                    error=f"{type(exc).__name__}: {exc}")

    async def _steps(self, runner: StepRunner) -> str:
        """Walk the top-level steps; the run's final status."""
        steps, jumps, i = runner.playbook.steps, 0, 0
        ok_all = True
        try:
            while i < len(steps):
                self._check(runner.run.id)
                step = steps[i]
                if await self._step(runner, step):
                    i += 1
                    continue
                ok_all = False
                if step.on_failure == "continue":
                    i += 1
                elif isinstance(step.on_failure, Goto) and jumps < len(steps):
                    jumps += 1
                    i = next(n for n, s in enumerate(steps) if s.id == step.on_failure.goto)
                else:
                    return "aborted"
        except _Stop:
            return "compensating"
        if runner.run.dry_run:
            return "dry_run"
        return "succeeded" if ok_all else "failed"

    async def _step(self, runner: StepRunner, step: Step) -> bool:
        if step.parallel:
            results = await asyncio.gather(*(self._step(runner, s) for s in step.parallel))
            return all(ok or s.on_failure == "continue"
                       for ok, s in zip(results, step.parallel, strict=True))
        if step.approval:
            return await self._approval(runner, step)
        if _undoable(step):
            return await runner.action_step(step)
        # A step with nothing to undo (a report, a notification) need not hold up the undo
        # of its run's containment when the incident is resolved while it runs: it finishes
        # and records its outcome on its own.
        task = asyncio.ensure_future(runner.action_step(step))
        while not (await asyncio.wait({task}, timeout=POLL_SECONDS))[0]:
            if (await asyncio.to_thread(get_run, self.db, runner.run.id)).status == "compensating":
                self._detached.add(task)
                task.add_done_callback(self._detached.discard)
                raise _Stop
        return task.result()

    def _check(self, run_id: str) -> None:
        if get_run(self.db, run_id).status == "compensating":
            raise _Stop

    async def _approval(self, runner: StepRunner, step: Step) -> bool:
        assert step.approval is not None
        run, approval = runner.run, step.approval
        rec = get_step(self.db, run.id, step.id)
        if rec is not None and rec.status != "waiting":
            return step_ok(rec)
        if run.dry_run:
            record_step(self.db, run.id, step.id, status="dry_run", action="approval",
                        timeline=runner.note(step.id, f"dry run: would wait for approval by "
                                             f"{approval.role}"))
            return True
        if rec is None:
            deadline = datetime.now(UTC) + timedelta(seconds=approval.timeout)
            rec = record_step(self.db, run.id, step.id, status="waiting", action="approval",
                              deadline=deadline, params={"role": approval.role},
                              timeline=runner.note(step.id, f"waiting for approval by "
                                                   f"{approval.role} (step {step.id})"))
        set_run_status(self.db, run.id, "waiting", unless=("compensating",))
        await self._ask(runner, step)
        return await self._await_decision(runner, step, rec.deadline)

    async def _ask(self, runner: StepRunner, step: Step) -> None:
        """Send the signed link to each notifier listed (idempotent per run and step)."""
        assert step.approval is not None
        url = approvals.link(self.settings, runner.run.id, step.id)
        incident = get_incident(self.db, runner.run.incident_id)
        for n, notifier in enumerate(step.approval.notify):
            key = step.id if n == 0 else f"{step.id}.{notifier}"
            ctx = runner.context(key, incident, approval_url=url)
            result = await asyncio.to_thread(self._notify, notifier, ctx, step)
            if not result.ok:
                log.warning("playbook.approval_notify_failed", detail=result.detail)

    def _notify(self, notifier: str, ctx: object, step: Step) -> ActionResult:
        from firebreak.errors import FirebreakError

        try:
            return get_action(f"notify.{notifier}").run(ctx, {  # type: ignore[arg-type]
                "text": f"Approval needed from {step.approval.role} for step {step.id}"})  # type: ignore[union-attr]
        except FirebreakError as exc:
            return ActionResult(ok=False, detail=exc.message)

    async def _await_decision(self, runner: StepRunner, step: Step,
                              deadline: datetime | None) -> bool:
        assert step.approval is not None
        run_id = runner.run.id
        while True:
            rec = await asyncio.to_thread(get_step, self.db, run_id, step.id)
            assert rec is not None
            if rec.status != "waiting":
                break
            if deadline is not None and datetime.now(UTC) >= deadline:
                proceed = step.approval.on_timeout == "proceed"
                rec = record_step(self.db, run_id, step.id, status="timed_out",
                                  result={"proceeded": proceed}, outcome_at=datetime.now(UTC),
                                  timeline=runner.note(step.id, "approval timed out: " + (
                                      "proceeding" if proceed else "aborting")))
                break
            await asyncio.to_thread(self._check, run_id)
            await asyncio.sleep(POLL_SECONDS)
        set_run_status(self.db, run_id, "running", unless=("compensating",))
        return step_ok(rec)

    async def _compensate(self, runner: StepRunner) -> None:
        """Undo succeeded, undoable steps in reverse order of completion."""
        by_id = {s.id: s for s in runner.playbook.all_steps()}
        done = [r for r in list_steps(self.db, runner.run.id)
                if r.status == "succeeded" and r.step_key in by_id and r.action]
        done.sort(key=lambda r: (r.outcome_at or datetime.min.replace(tzinfo=UTC), r.seq),
                  reverse=True)
        incident = get_incident(self.db, runner.run.incident_id)
        for rec in done:
            step = by_id[rec.step_key]
            action = get_action(str(rec.action))
            if not (step.undo and action.undoable):
                continue
            key = f"{rec.step_key}:undo"
            undo_rec = get_step(self.db, runner.run.id, key)
            if undo_rec is not None and undo_rec.status in ("succeeded", "failed"):
                continue
            await runner.attempts(step, action, runner.context(key, incident), rec.params,
                                  undo_rec, undo_of=ActionResult.model_validate(rec.result))


def _undoable(step: Step) -> bool:
    return bool(step.action and step.undo and get_action(step.action).undoable)


__all__ = ["RUN_ACTIVE", "Engine"]
