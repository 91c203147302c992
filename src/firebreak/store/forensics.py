"""Forensics tables: evidence records (a hash chain), signed manifests, model artifacts.

Blobs live on disk, content-addressed by SHA-256 (see firebreak.forensics.evidence); these
rows hold what points at them and the chain that proves nothing moved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from firebreak.store.models import Base


class EvidenceRow(Base):
    """One evidence record; `record_hash` chains it to the record before it (`prev_hash`)."""

    __tablename__ = "evidence_records"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(40), unique=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(Text, default="")
    blob_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    media_type: Mapped[str] = mapped_column(String(80))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64))


class ManifestRow(Base):
    """A signed statement of an incident's records (ids and hashes, in order) at one time."""

    __tablename__ = "evidence_manifests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(100))


class ModelArtifactRow(Base):
    """The fingerprint of the artifact behind one model version, as first seen."""

    __tablename__ = "model_artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(200))
    uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_checked: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_model_artifacts_dep_ver", "deployment", "model_version"),)


class EventSliceRow(Base):
    """One closed minute of a deployment's events of one kind, sealed into a blob (a JSON
    array of their payloads, oldest first) soon after the minute closed. Snapshots cite
    slices instead of copying an hour of events at containment time."""

    __tablename__ = "event_slices"

    deployment: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    blob_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # version -> [first_seen, last_seen, count] of the minute's events of this kind, so a
    # snapshot need not ask the database which versions served its window
    versions: Mapped[dict[str, Any] | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_event_slices_since", "since"),)


class EvidencePieceRow(Base):
    """A blob an evidence record's own blob names (an events record's pieces): a sealed
    slice's blob is never deleted while a record cites it."""

    __tablename__ = "evidence_pieces"

    record_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class EventSealRow(Base):
    """Which of a deployment's minutes are sealed: every one from `sealed_from` to
    `sealed_until` (a minute without events has no slice). `events_before` is how many of
    the deployment's events had a time before `sealed_until` by the slices' counts (see
    firebreak.forensics.seal)."""

    __tablename__ = "event_seals"

    deployment: Mapped[str] = mapped_column(String(200), primary_key=True)
    sealed_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sealed_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    events_before: Mapped[int | None] = mapped_column(BigInteger, default=None)
