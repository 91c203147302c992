"""The audit log: one row per operate or admin call (who, what, when, from where).

Append-only by contract: this module offers `record` and `list_audit`, nothing that
changes or deletes a row, and the migration adds database triggers that refuse UPDATE and
DELETE on the table, so even a stray SQL statement cannot rewrite history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.store.db import Database
from firebreak.store.models import Base


class AuditRow(Base):
    """One audited control-plane call; refused attempts are recorded too."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    token_id: Mapped[int | None] = mapped_column(Integer)
    token_name: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (Index("ix_audit_log_ts", "ts"), Index("ix_audit_log_token_id", "token_id"))


@dataclass(frozen=True)
class AuditEntry:
    """What the API middleware hands to `record`."""

    scope: str
    method: str
    path: str
    status: int
    token_id: int | None = None
    token_name: str | None = None
    client: str | None = None
    request_id: str | None = None


def record(db: Database, entry: AuditEntry) -> None:
    """Append one entry (path and names truncated to their column sizes)."""
    row = AuditRow(ts=datetime.now(UTC), token_id=entry.token_id,
                   token_name=(entry.token_name or None) and entry.token_name[:200],
                   scope=entry.scope[:16], method=entry.method[:10], path=entry.path[:500],
                   status=entry.status, client=entry.client and entry.client[:100],
                   request_id=entry.request_id and entry.request_id[:128])
    with db.write() as session:
        session.add(row)


def list_audit(db: Database, *, limit: int = 100, before_id: int | None = None,
               token_id: int | None = None) -> list[dict[str, Any]]:
    """Newest first; page with `before_id` (the smallest id of the previous page)."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    if token_id is not None:
        query = query.where(AuditRow.token_id == token_id)
    with db.session() as session:
        rows = session.scalars(query).all()
    return [{"id": r.id, "ts": _aware(r.ts).isoformat(), "token_id": r.token_id,
             "token_name": r.token_name, "scope": r.scope, "method": r.method,
             "path": r.path, "status": r.status, "client": r.client,
             "request_id": r.request_id} for r in rows]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
