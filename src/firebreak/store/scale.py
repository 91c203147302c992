"""Tables of the scaled topology: events already folded, and partial window profiles.

Workers fold each batch of new events into partial windows and, in the same commit, record
the events' ids in `scale_seen_events`; a redelivered event is then skipped, so a crash at
any point counts every event exactly once. The window closer merges a window's partial
rows into one closed profile (`monitor_profiles`) and deletes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, String, delete, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from firebreak.store.models import Base, WindowBodyColumns
from firebreak.store.monitor import ProfileRow


class SeenEventRow(Base):
    """An event id some worker has folded (dedupe of redeliveries)."""

    __tablename__ = "scale_seen_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PartialRow(WindowBodyColumns, Base):
    """One worker's partial profile of one window (`Window.to_bytes`)."""

    __tablename__ = "scale_partials"

    __table_args__ = (Index("ix_scale_partials_window", "deployment", "window_start"),)


_PG_CLAIM = text(
    "INSERT INTO scale_seen_events (event_id, seen_at) SELECT unnest(CAST(:ids AS text[])), :now "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")


def claim_new(session: Session, event_ids: Iterable[str]) -> set[str]:
    """Record `event_ids` as seen; returns those not seen before (in this transaction)."""
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    now = datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: a statement that compiles once, whatever the batch size.
        rows = session.execute(_PG_CLAIM, {"ids": ids, "now": now})
        return {r[0] for r in rows}
    stmt = (sqlite_insert(SeenEventRow)
            .values([{"event_id": i, "seen_at": now} for i in ids])
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(SeenEventRow.event_id))
    return set(session.scalars(stmt).all())


def closed_starts(session: Session, deployment: str, starts: Iterable[datetime]
                  ) -> set[datetime]:
    """Which of these window starts already have a closed profile."""
    rows = session.scalars(select(ProfileRow.window_start).where(
        ProfileRow.deployment == deployment, ProfileRow.window_start.in_(list(starts))))
    return {_utc(r) for r in rows}


def due_windows(session: Session, before: datetime) -> list[tuple[str, datetime, datetime]]:
    """(deployment, start, end) of windows with partials whose end is before `before`."""
    q = (select(PartialRow.deployment, PartialRow.window_start, PartialRow.window_end)
         .where(PartialRow.window_end <= before).distinct()
         .order_by(PartialRow.window_start, PartialRow.deployment))
    return [(d, _utc(s), _utc(e)) for d, s, e in session.execute(q).tuples()]


def partial_bodies(session: Session, deployment: str, start: datetime) -> list[bytes]:
    q = select(PartialRow.body).where(PartialRow.deployment == deployment,
                                      PartialRow.window_start == start).order_by(PartialRow.id)
    return list(session.scalars(q).all())


def drop_partials(session: Session, deployment: str, start: datetime) -> None:
    session.execute(delete(PartialRow).where(PartialRow.deployment == deployment,
                                             PartialRow.window_start == start))


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
