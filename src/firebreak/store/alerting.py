"""Tables of the alerting pipeline: signals, alerts, silences and the notification queue.

Signals are kept as received; alerts are their fingerprinted, deduplicated streams;
silences mute matching alerts for a while; notifications are the durable delivery queue
(pending → sent | dead | suppressed) that the background deliverer drains in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.store.models import Base


class SignalRow(Base):
    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    deployment: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    detector: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertRow(Base):
    __tablename__ = "alerts"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))  # signal | alertmanager | webhook
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    flaps: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_alerts_deployment_status", "deployment", "status"),)


class SilenceRow(Base):
    __tablename__ = "silences"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NotificationRow(Base):
    __tablename__ = "notifications"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    incident_id: Mapped[str] = mapped_column(String(64))
    notifier: Mapped[str] = mapped_column(String(64))
    form: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
        Index("ix_notifications_incident_seq", "incident_id", "seq"),
    )
