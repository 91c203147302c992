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
