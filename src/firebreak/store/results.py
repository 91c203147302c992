"""Red-team campaigns and chaos runs: what the producers record and the dashboard shows.

`firebreak redteam run` records one campaign per run (attack success per category and
converter, benign probes answered, every probe's result); `firebreak chaos run` records one
run per scorecard (per scenario: detected, category right, time to detect and contain,
containment right, notifications, report; incidents opened during the clean warm-up).
Totals are computed here from the parts, never taken on trust from the sender.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.errors import NotFound
from firebreak.store.db import Database
from firebreak.store.models import Base

COUNT = 10**9  # bounds every count: a number the database column can always hold
Name = Annotated[str, Field(min_length=1, max_length=200)]


class RedteamCampaignRow(Base):
    __tablename__ = "redteam_campaigns"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    suite: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))
    attack_attempts: Mapped[int] = mapped_column(Integer)
    successes: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    benign_attempts: Mapped[int] = mapped_column(Integer)
    benign_answered: Mapped[int] = mapped_column(Integer)
    per_category: Mapped[dict[str, Any]] = mapped_column()
    per_converter: Mapped[dict[str, Any]] = mapped_column()
    probes: Mapped[list[Any]] = mapped_column()

    __table_args__ = (Index("ix_redteam_campaigns_started_at", "started_at"),)


class ChaosRunRow(Base):
    __tablename__ = "chaos_runs"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    profile: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool] = mapped_column(Boolean)
    warmup_seconds: Mapped[float] = mapped_column(Float)
    false_incidents: Mapped[list[Any]] = mapped_column()
    traffic: Mapped[dict[str, Any]] = mapped_column()
    scenarios: Mapped[list[Any]] = mapped_column()

    __table_args__ = (Index("ix_chaos_runs_started_at", "started_at"),)


# -- red team ---------------------------------------------------------------------------


class AttackTally(BaseModel):
    """Attack attempts of one category (attack) or one converter, and how many worked."""

    attempts: int = Field(ge=0, le=COUNT)
    successes: int = Field(ge=0, le=COUNT)
    blocked: int = Field(0, ge=0, le=COUNT)
    errors: int = Field(0, ge=0, le=COUNT)

    @model_validator(mode="after")
    def _within(self) -> AttackTally:
        if self.successes + self.blocked > self.attempts:
            raise ValueError("successes plus blocked exceed attempts")
        return self

    @property
    def success_rate(self) -> float:
        return round(self.successes / self.attempts, 4) if self.attempts else 0.0


class ProbeResult(BaseModel):
    """One probe sent once; other fields of the red-team report (messages, scores) are kept."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    attack: Name
    converter: str = Field("none", min_length=1, max_length=200)
    outcome: str = Field(min_length=1, max_length=32,
                         description="success, resisted, blocked, error (attacks); "
                                     "passed, failed, error (benign probes)")
    benign: bool = False
    reason: str = Field("", max_length=5000)


class NewCampaign(BaseModel):
    """A red-team campaign to record (POST /v1/redteam/campaigns)."""

    suite: Name
    target: str = Field(min_length=1, max_length=500)
    started_at: datetime
    finished_at: datetime | None = Field(None, description="default: when it is recorded")
    per_category: dict[str, AttackTally] = Field(max_length=500,
                                                 description="attack name -> attack tally")
    per_converter: dict[str, AttackTally] = Field(default_factory=dict, max_length=500)
    benign_attempts: int = Field(0, ge=0, le=COUNT)
    benign_answered: int = Field(0, ge=0, le=COUNT)
    probes: list[ProbeResult] = Field(default_factory=list, max_length=20_000)

    @model_validator(mode="after")
    def _consistent(self) -> NewCampaign:
        if self.benign_answered > self.benign_attempts:
            raise ValueError("benign_answered exceeds benign_attempts")
        if self.finished_at is not None and _aware(self.finished_at) < _aware(self.started_at):
            raise ValueError("finished_at is before started_at")
        return self


class CampaignSummary(BaseModel):
    id: int
    suite: str
    target: str
    started_at: datetime
    finished_at: datetime
    recorded_by: str
    attack_attempts: int
    successes: int
    success_rate: float = Field(description="successful attacks / attack attempts")
    blocked: int
    errors: int
    benign_attempts: int
    benign_answered: int
    benign_answered_rate: float | None = Field(description="benign probes answered / sent")


class CategoryResult(BaseModel):
    attempts: int
    successes: int
    success_rate: float
    blocked: int
    errors: int


class Campaign(CampaignSummary):
    per_category: dict[str, CategoryResult]
    per_converter: dict[str, CategoryResult]
    probes: list[dict[str, Any]]


class CampaignPage(BaseModel):
    campaigns: list[CampaignSummary]
    next_before_id: int | None = Field(description="pass as before_id for the next page")


def _tallies(tallies: dict[str, AttackTally]) -> dict[str, Any]:
    return {k: {**t.model_dump(), "success_rate": t.success_rate} for k, t in tallies.items()}


def record_campaign(db: Database, new: NewCampaign, *, recorded_by: str) -> Campaign:
    """Store one campaign; totals are the sums of its categories."""
    cats = new.per_category.values()
    row = RedteamCampaignRow(
        suite=new.suite, target=new.target, started_at=_aware(new.started_at),
        finished_at=_aware(new.finished_at or datetime.now(UTC)), recorded_by=recorded_by[:200],
        attack_attempts=sum(t.attempts for t in cats), successes=sum(t.successes for t in cats),
        blocked=sum(t.blocked for t in cats), errors=sum(t.errors for t in cats),
        benign_attempts=new.benign_attempts, benign_answered=new.benign_answered,
        per_category=_tallies(new.per_category), per_converter=_tallies(new.per_converter),
        probes=[p.model_dump(mode="json") for p in new.probes])
    with db.write() as session:
        session.add(row)
        session.flush()
        return _campaign(row)


def _page(db: Database, table: Any, build: Any, limit: int, before_id: int | None) -> list[Any]:
    """Newest first; page with `before_id` (the smallest id of the previous page)."""
    q = select(table).order_by(table.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(table.id < before_id)
    with db.session() as session:
        return [build(r) for r in session.scalars(q)]


def _one(db: Database, table: Any, build: Any, row_id: int, what: str) -> Any:
    with db.session() as session:
        row = session.get(table, row_id)
        if row is None:
            raise NotFound(f"no {what} {row_id}", id=row_id)
        return build(row)


def list_campaigns(db: Database, *, limit: int = 50,
                   before_id: int | None = None) -> list[CampaignSummary]:
    return _page(db, RedteamCampaignRow, lambda r: CampaignSummary.model_validate(_summary(r)),
                 limit, before_id)


def get_campaign(db: Database, campaign_id: int) -> Campaign:
    return _one(db, RedteamCampaignRow, _campaign, campaign_id, "red-team campaign")


def _summary(r: RedteamCampaignRow) -> dict[str, Any]:
    return {
        "id": r.id, "suite": r.suite, "target": r.target, "started_at": _aware(r.started_at),
        "finished_at": _aware(r.finished_at), "recorded_by": r.recorded_by,
        "attack_attempts": r.attack_attempts, "successes": r.successes,
        "success_rate": round(r.successes / r.attack_attempts, 4) if r.attack_attempts else 0.0,
        "blocked": r.blocked, "errors": r.errors, "benign_attempts": r.benign_attempts,
        "benign_answered": r.benign_answered,
        "benign_answered_rate": (round(r.benign_answered / r.benign_attempts, 4)
                                 if r.benign_attempts else None)}


def _campaign(r: RedteamCampaignRow) -> Campaign:
    return Campaign.model_validate({**_summary(r), "per_category": r.per_category,
                                    "per_converter": r.per_converter, "probes": r.probes})


# -- chaos ------------------------------------------------------------------------------


class ScenarioScore(BaseModel):
    """One scenario's row of the chaos scorecard; extra fields of newer runners are kept."""

    model_config = ConfigDict(extra="allow")

    scenario: Name
    title: str = Field("", max_length=500)
    expected_category: str = Field("", max_length=200)
    detected: bool
    incident_id: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=200)
    category_right: bool = False
    severity: str | None = Field(None, max_length=16)
    time_to_detect_s: float | None = Field(None, ge=-1e9, le=1e9,
                                           description="fault onset to incident opened")
    events_to_detect: int | None = Field(None, ge=0, le=COUNT,
                                         description="events of the deployment between the two")
    time_to_contain_s: float | None = Field(None, ge=-1e9, le=1e9,
                                            description="incident opened to first containment")
    contained: bool = False
    containment_right: bool = False
    actions: list[str] = Field(default_factory=list, max_length=500)
    notifications: int = Field(0, ge=0, le=COUNT)
    report_written: bool = False
    passed: bool = False
    note: str = Field("", max_length=5000)


class NewChaosRun(BaseModel):
    """A chaos scorecard to record (POST /v1/chaos/runs)."""

    profile: Name
    started_at: datetime
    finished_at: datetime | None = Field(None, description="default: when it is recorded")
    warmup_seconds: float = Field(0.0, ge=0, le=1e9)
    false_incidents: list[str] = Field(default_factory=list, max_length=10_000,
                                       description="incidents opened during the clean warm-up")
    traffic: dict[str, int] = Field(default_factory=dict, max_length=100)
    scenarios: list[ScenarioScore] = Field(max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> NewChaosRun:
        if self.finished_at is not None and _aware(self.finished_at) < _aware(self.started_at):
            raise ValueError("finished_at is before started_at")
        return self


class ChaosRunSummary(BaseModel):
    id: int
    profile: str
    started_at: datetime
    finished_at: datetime
    recorded_by: str
    passed: bool = Field(description="every scenario passed and no false incident")
    scenario_count: int
    scenarios_passed: int
    false_incident_count: int
    median_time_to_detect_s: float | None
    median_time_to_contain_s: float | None


class ChaosRun(ChaosRunSummary):
    warmup_seconds: float
    false_incidents: list[str]
    traffic: dict[str, int]
    scenarios: list[dict[str, Any]]


class ChaosRunPage(BaseModel):
    runs: list[ChaosRunSummary]
    next_before_id: int | None = Field(description="pass as before_id for the next page")


def record_chaos_run(db: Database, new: NewChaosRun, *, recorded_by: str) -> ChaosRun:
    """Store one scorecard; it passed when every scenario did and the warm-up was quiet."""
    scenarios = [s.model_dump(mode="json") for s in new.scenarios]
    row = ChaosRunRow(
        profile=new.profile, started_at=_aware(new.started_at),
        finished_at=_aware(new.finished_at or datetime.now(UTC)), recorded_by=recorded_by[:200],
        passed=not new.false_incidents and all(s.passed for s in new.scenarios),
        warmup_seconds=new.warmup_seconds, false_incidents=list(new.false_incidents),
        traffic=dict(new.traffic), scenarios=scenarios)
    with db.write() as session:
        session.add(row)
        session.flush()
        return _chaos_run(row)


def list_chaos_runs(db: Database, *, limit: int = 50,
                    before_id: int | None = None) -> list[ChaosRunSummary]:
    return _page(db, ChaosRunRow, lambda r: ChaosRunSummary.model_validate(_run_summary(r)),
                 limit, before_id)


def get_chaos_run(db: Database, run_id: int) -> ChaosRun:
    return _one(db, ChaosRunRow, _chaos_run, run_id, "chaos run")


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    v, mid = sorted(values), len(values) // 2
    return round(v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2, 3)


def _run_summary(r: ChaosRunRow) -> dict[str, Any]:
    sc = r.scenarios
    return {
        "id": r.id, "profile": r.profile, "started_at": _aware(r.started_at),
        "finished_at": _aware(r.finished_at), "recorded_by": r.recorded_by, "passed": r.passed,
        "scenario_count": len(sc), "scenarios_passed": sum(bool(s.get("passed")) for s in sc),
        "false_incident_count": len(r.false_incidents),
        "median_time_to_detect_s": _median([s["time_to_detect_s"] for s in sc
                                            if s.get("time_to_detect_s") is not None]),
        "median_time_to_contain_s": _median([s["time_to_contain_s"] for s in sc
                                             if s.get("time_to_contain_s") is not None])}


def _chaos_run(r: ChaosRunRow) -> ChaosRun:
    return ChaosRun.model_validate({**_run_summary(r), "warmup_seconds": r.warmup_seconds,
                                    "false_incidents": r.false_incidents,
                                    "traffic": r.traffic, "scenarios": r.scenarios})


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
