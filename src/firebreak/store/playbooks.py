"""Playbook runs and steps: the durable record the engine replays after a crash.

A run is one execution of one playbook for one incident (unique per pair). A step row is
keyed by (run_id, step_key), which is also the action's idempotency key: `step_key` is the
step id, or `<step id>:undo` for its compensation. The engine writes the intent (status
`intent`, attempt n) before calling an action and the outcome after it, each in its own
commit, so a restarted engine knows exactly which calls may be in doubt.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.errors import Conflict, NotFound
from firebreak.store.db import Database
from firebreak.store.incidents import IncidentRow, TimelineRow
from firebreak.store.models import Base

RUN_ACTIVE = ("running", "waiting", "compensating")
RUN_DONE = ("succeeded", "failed", "aborted", "compensated", "dry_run")
STEP_DONE = ("succeeded", "failed", "skipped", "denied", "timed_out", "approved", "dry_run")


class RunRow(Base):
    __tablename__ = "playbook_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    playbook: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("incident_id", "playbook", name="uq_playbook_runs_incident_playbook"),
        Index("ix_playbook_runs_status", "status"),
    )


class StepRow(Base):
    __tablename__ = "playbook_steps"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    action: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    intent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer, default=0)


class Run(BaseModel):
    """The read model of a run."""

    id: str
    incident_id: str
    playbook: str
    definition: dict[str, Any] = Field(default_factory=dict)
    status: str
    dry_run: bool = False
    owner: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    error: str = ""


class Step(BaseModel):
    """The read model of one step record (`step_key` is the idempotency key's second half)."""

    run_id: str
    step_key: str
    action: str | None = None
    status: str
    attempt: int = 0
    params: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    error: str = ""
    intent_at: datetime | None = None
    outcome_at: datetime | None = None
    deadline: datetime | None = None
    decided_by: str | None = None
    seq: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def _run(row: RunRow) -> Run:
    run = Run.model_validate(row, from_attributes=True)
    run.lease_until = _aware(run.lease_until)
    return run


def _step(row: StepRow) -> Step:
    step = Step.model_validate(row, from_attributes=True)
    step.deadline = _aware(step.deadline)
    return step


def create_run(db: Database, *, incident_id: str, playbook: str, definition: dict[str, Any],
               dry_run: bool, owner: str, lease_until: datetime) -> Run | None:
    """Create a run; None when this incident already has a run of this playbook."""
    now = _now()
    try:
        with db.write() as session:
            exists = session.scalar(select(RunRow.id).where(
                RunRow.incident_id == incident_id, RunRow.playbook == playbook))
            if exists is not None:
                return None
            row = RunRow(id="run-" + uuid.uuid4().hex[:12], incident_id=incident_id,
                         playbook=playbook, definition=definition, status="running",
                         dry_run=dry_run, owner=owner, lease_until=lease_until, created_at=now,
                         updated_at=now, error="")
            session.add(row)
            run = _run(row)
    except IntegrityError:  # another engine created it between our check and our commit
        return None
    return run


def get_run(db: Database, run_id: str) -> Run:
    with db.session() as session:
        row = session.get(RunRow, run_id)
        if row is None:
            raise NotFound(f"run {run_id} does not exist", run_id=run_id)
        return _run(row)


def list_runs(db: Database, *, incident_id: str | None = None, status: str | None = None,
              limit: int = 200) -> list[Run]:
    q = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
    if incident_id:
        q = q.where(RunRow.incident_id == incident_id)
    if status:
        q = q.where(RunRow.status == status)
    with db.session() as session:
        return [_run(r) for r in session.scalars(q)]


def runs_of_closed_incidents(db: Database, *, limit: int = 1000) -> list[Run]:
    """Runs not yet undone (nor dry runs) of incidents that are resolved or past it, newest
    first: what an engine that was down when they were resolved may still have to undo."""
    q = (select(RunRow).join(IncidentRow, IncidentRow.id == RunRow.incident_id)
         .where(IncidentRow.status.in_(("resolved", "postmortem")),
                RunRow.status.not_in(("compensating", "compensated")),
                RunRow.dry_run.is_(False))
         .order_by(RunRow.created_at.desc()).limit(limit))
    with db.session() as session:
        return [_run(r) for r in session.scalars(q)]


def set_run_status(db: Database, run_id: str, status: str, *, error: str = "",
                   unless: tuple[str, ...] = ()) -> Run:
    """Set a run's status, leaving it alone when it is currently one of `unless`."""
    now = _now()
    with db.write() as session:
        row = session.get(RunRow, run_id, with_for_update=True)
        if row is None:
            raise NotFound(f"run {run_id} does not exist", run_id=run_id)
        if row.status in unless:
            return _run(row)
        row.status, row.updated_at = status, now
        if error:
            row.error = error
        if status in RUN_DONE:
            row.finished_at = now
        return _run(row)


def claim_runs(db: Database, *, owner: str, lease_until: datetime) -> list[Run]:
    """Take over active runs that are ours (a restart) or whose lease has run out."""
    now = _now()
    with db.write() as session:
        # SKIP LOCKED (PostgreSQL; ignored on SQLite): racing engines never claim one run
        # twice; a run another engine is claiming right now is left to it.
        rows = list(session.scalars(select(RunRow).where(RunRow.status.in_(RUN_ACTIVE))
                                    .with_for_update(skip_locked=True)))
        claimed = []
        for row in rows:
            lease = _aware(row.lease_until)
            if row.owner == owner or lease is None or lease < now:
                row.owner, row.lease_until = owner, lease_until
                claimed.append(_run(row))
        return claimed


def renew_lease(db: Database, run_id: str, *, owner: str, lease_until: datetime) -> bool:
    """Extend our lease; False if another engine has taken the run over."""
    with db.write() as session:
        row = session.get(RunRow, run_id, with_for_update=True)
        if row is None or row.owner != owner:
            return False
        row.lease_until = lease_until
        return True


def get_step(db: Database, run_id: str, step_key: str) -> Step | None:
    with db.session() as session:
        row = session.get(StepRow, (run_id, step_key))
        return None if row is None else _step(row)


def list_steps(db: Database, run_id: str) -> list[Step]:
    q = select(StepRow).where(StepRow.run_id == run_id).order_by(StepRow.seq, StepRow.intent_at)
    with db.session() as session:
        return [_step(r) for r in session.scalars(q)]


def record_step(db: Database, run_id: str, step_key: str, *, status: str,
                timeline: dict[str, Any] | None = None, **fields: Any) -> Step:
    """Insert or update one step record in its own commit (intent, outcome, decision).

    `timeline` (incident_id, actor, message, data) adds an `action` entry to the incident's
    timeline in the same commit, so the record and the timeline never disagree.
    """
    with db.write() as session:
        if timeline is not None:
            session.add(TimelineRow(ts=_now(), kind="action", **timeline))
        row = session.get(StepRow, (run_id, step_key), with_for_update=True)
        if row is None:
            seq = session.scalar(select(StepRow.seq).where(StepRow.run_id == run_id)
                                 .order_by(StepRow.seq.desc()).limit(1)) or 0
            row = StepRow(run_id=run_id, step_key=step_key, status=status, attempt=0,
                          params={}, result={}, error="", seq=seq + 1)
            session.add(row)
        row.status = status
        for key, value in fields.items():
            setattr(row, key, value)
        return _step(row)


def decide_approval(db: Database, run_id: str, step_key: str, *, approve: bool,
                    actor: str) -> Step:
    """Approve or deny a waiting approval step; Conflict if it is no longer waiting."""
    with db.write() as session:
        row = session.get(StepRow, (run_id, step_key), with_for_update=True)
        if row is None:
            raise NotFound(f"step {step_key} of run {run_id} does not exist",
                           run_id=run_id, step_id=step_key)
        if row.status != "waiting":
            raise Conflict(f"step {step_key} of run {run_id} is {row.status}, not waiting")
        row.status = "approved" if approve else "denied"
        row.decided_by, row.outcome_at = actor, _now()
        run = session.get(RunRow, run_id)
        if run is not None:
            session.add(TimelineRow(incident_id=run.incident_id, ts=_now(), kind="action",
                                    actor=actor, message=f"step {step_key} {row.status} by "
                                    f"{actor}", data={"run_id": run_id, "step_id": step_key}))
        return _step(row)
