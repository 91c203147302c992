"""Monitor state: closed window profiles and each deployment's reference (baseline).

Windows are stored as the monitor closes them (so history survives a restart and a past
window can be pinned as the reference); a baseline is one merged window per deployment,
from a reference file, a pinned window, or the warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.errors import NotFound
from firebreak.store.db import Database
from firebreak.store.models import Base, WindowBodyColumns


class ProfileRow(WindowBodyColumns, Base):
    """One closed window of one deployment, serialized (`Window.to_bytes`)."""

    __tablename__ = "monitor_profiles"

    __table_args__ = (Index("ix_monitor_profiles_deployment_start", "deployment", "window_start"),)


class BaselineRow(Base):
    """The reference window of one deployment and where it came from."""

    __tablename__ = "monitor_baselines"

    deployment: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))      # file | pinned | warmup
    detail: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class BaselineInfo:
    """A baseline's description (without its body)."""

    deployment: str
    source: str
    detail: str
    rows: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "source": self.source, "detail": self.detail,
                "rows": self.rows, "created_at": self.created_at.isoformat()}


def save_window(db: Database, *, deployment: str, start: datetime, end: datetime,
                events: int, body: bytes) -> int:
    """Store a closed window; returns its id."""
    with db.write() as s:
        row = ProfileRow(deployment=deployment, window_start=start, window_end=end,
                         events=events, body=body)
        s.add(row)
        s.flush()
        return int(row.id)


def recent_windows(db: Database, deployment: str, limit: int = 60) -> list[bytes]:
    """Bodies of the deployment's last `limit` windows, oldest first."""
    with db.session() as s:
        rows = s.scalars(select(ProfileRow.body).where(ProfileRow.deployment == deployment)
                         .order_by(ProfileRow.window_start.desc()).limit(limit)).all()
    return list(reversed(rows))


def window_at(db: Database, deployment: str, at: datetime) -> bytes:
    """The stored window of `deployment` that contains `at`; NotFound otherwise."""
    with db.session() as s:
        body = s.scalars(select(ProfileRow.body).where(
            ProfileRow.deployment == deployment, ProfileRow.window_start <= at,
            ProfileRow.window_end > at).order_by(ProfileRow.id.desc()).limit(1)).first()
    if body is None:
        raise NotFound(f"no stored window of {deployment!r} contains {at.isoformat()}",
                       deployment=deployment)
    return body


def prune_windows(db: Database, deployment: str, keep: int) -> None:
    """Forget all but the newest `keep` windows of a deployment."""
    with db.write() as s:
        ids = s.scalars(select(ProfileRow.id).where(ProfileRow.deployment == deployment)
                        .order_by(ProfileRow.window_start.desc()).offset(keep)).all()
        if ids:
            s.execute(delete(ProfileRow).where(ProfileRow.id.in_(ids)))


def set_baseline(db: Database, *, deployment: str, source: str, detail: str, rows: int,
                 body: bytes) -> BaselineInfo:
    """Replace the deployment's reference."""
    now = datetime.now(UTC)
    with db.write() as s:
        row = s.get(BaselineRow, deployment)
        if row is None:
            row = BaselineRow(deployment=deployment)
            s.add(row)
        row.source, row.detail, row.rows, row.created_at, row.body = (
            source, detail, rows, now, body)
    return BaselineInfo(deployment, source, detail, rows, now)


def get_baseline(db: Database, deployment: str) -> tuple[BaselineInfo, bytes] | None:
    """(description, body) of the deployment's reference, or None."""
    with db.session() as s:
        row = s.get(BaselineRow, deployment)
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return BaselineInfo(row.deployment, row.source, row.detail, row.rows, created), row.body


def baseline_stamp(db: Database, deployment: str) -> datetime | None:
    """When the deployment's reference was last set (cheap: no body), or None."""
    with db.session() as s:
        return s.scalars(select(BaselineRow.created_at)
                         .where(BaselineRow.deployment == deployment)).first()


def list_baselines(db: Database) -> list[BaselineInfo]:
    """Every deployment's reference description."""
    with db.session() as s:
        rows = s.scalars(select(BaselineRow).order_by(BaselineRow.deployment)).all()
        return [BaselineInfo(r.deployment, r.source, r.detail, r.rows, r.created_at)
                for r in rows]
