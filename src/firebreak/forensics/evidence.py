"""The evidence store: content-addressed blobs on disk and an append-only hash chain of records.

Every record carries the hash of the record before it (one chain over all incidents), and
each write ends with a manifest for the incident, signed with Ed25519, that lists its
records' ids and hashes in order. `firebreak.forensics.verify` checks all three.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from firebreak.config import Settings
from firebreak.forensics import keys
from firebreak.store.db import Database
from firebreak.store.forensics import EvidencePieceRow, EvidenceRow, ManifestRow

GENESIS = "0" * 64
# an events record: {"event_kind", "count", "pieces": [{"since", "until", "count", "sha256",
# "size"}]}, each piece a blob holding a JSON array of event payloads, oldest first
EVENTS_MEDIA = "application/vnd.firebreak.events+json"


@dataclass(frozen=True)
class Blob:
    """Bytes already in the blob store."""

    sha256: str
    size: int


@dataclass
class Item:
    """One artifact to capture: its bytes (or the blob already holding them) and what they are."""

    kind: str
    label: str
    data: bytes | Blob
    media_type: str = "application/json"
    meta: dict[str, Any] = field(default_factory=dict)
    pieces: list[str] = field(default_factory=list)  # blobs `data` names (an events record's)


def json_item(kind: str, label: str, value: Any, **meta: Any) -> Item:
    """An Item holding `value` as canonical JSON."""
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return Item(kind, label, data, "application/json", meta)


def blob_dir(settings: Settings) -> Path:
    return settings.data_dir / "evidence" / "blobs"


def blob_path(settings: Settings, sha: str) -> Path:
    return blob_dir(settings) / sha[:2] / sha


def put_blob(settings: Settings, data: bytes) -> str:
    """Store `data` under its SHA-256 (idempotent, atomic); returns the hash."""
    sha = hashlib.sha256(data).hexdigest()
    if not blob_path(settings, sha).is_file():
        write_blob(settings, [data])
    return sha


def write_blob(settings: Settings, chunks: Iterable[bytes]) -> Blob:
    """Store the concatenation of `chunks` under its SHA-256, hashed as it is written, so a
    capture holds one chunk in memory at a time (atomic: a reader sees all of it or none)."""
    digest, size = hashlib.sha256(), 0
    tmp_dir = blob_dir(settings)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        path = blob_path(settings, digest.hexdigest())
        path.parent.mkdir(exist_ok=True)
        os.replace(tmp, path)  # the same bytes if it was there already
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Blob(digest.hexdigest(), size)


def read_blob(settings: Settings, sha: str) -> bytes | None:
    path = blob_path(settings, sha)
    return path.read_bytes() if path.is_file() else None


def event_pieces(data: bytes) -> list[dict[str, Any]]:
    """The pieces an events record's blob lists."""
    return list(orjson.loads(data).get("pieces", []))


def read_events(settings: Settings, record: dict[str, Any]) -> bytes | None:
    """An events record's events as one JSON array (its pieces joined); other records'
    bytes as stored. None when a blob is missing or the list is not one."""
    data = read_blob(settings, record["blob_sha256"])
    if data is None or record["media_type"] != EVENTS_MEDIA:
        return data
    try:
        arrays = [read_blob(settings, p["sha256"]) for p in event_pieces(data)]
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        return None  # the list was changed: verify names it
    if any(a is None for a in arrays):
        return None
    return b"[" + b",".join(a[1:-1] for a in arrays if a and len(a) > 2) + b"]"


def canonical_ts(ts: datetime) -> str:
    """UTC ISO time; SQLite hands back naive datetimes, so naive means UTC."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(row: EvidenceRow) -> str:
    """The hash of a record's content and its link to the previous record."""
    body = {
        "id": row.id,
        "incident_id": row.incident_id,
        "ts": canonical_ts(row.ts),
        "kind": row.kind,
        "label": row.label,
        "blob_sha256": row.blob_sha256,
        "size": row.size,
        "media_type": row.media_type,
        "meta": row.meta or {},
        "prev_hash": row.prev_hash,
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def add_evidence(
    db: Database, settings: Settings, incident_id: str | None, items: Sequence[Item]
) -> list[str]:
    """Capture `items` as chained records; returns their evidence ids in order."""
    if not items:
        return []
    blobs = [_stored(settings, it.data) for it in items]  # blobs first: a record never dangles
    key = keys.signing_key(settings)
    now = datetime.now(UTC)
    ids: list[str] = []
    with db.write() as session:
        _lock_chain(db, session)
        prev = (
            session.scalar(
                select(EvidenceRow.record_hash).order_by(EvidenceRow.seq.desc()).limit(1)
            )
            or GENESIS
        )
        for it, blob in zip(items, blobs, strict=True):
            row = EvidenceRow(
                id="ev-" + uuid.uuid4().hex[:16],
                incident_id=incident_id,
                ts=now,
                kind=it.kind,
                label=it.label,
                blob_sha256=blob.sha256,
                size=blob.size,
                media_type=it.media_type,
                meta=it.meta,
                prev_hash=prev,
            )
            row.record_hash = prev = record_hash(row)
            session.add(row)
            session.add_all(EvidencePieceRow(record_id=row.id, sha256=sha)
                            for sha in dict.fromkeys(it.pieces))
            ids.append(row.id)
        session.flush()
        if incident_id is not None:
            _write_manifest(session, key, incident_id, now)
    return ids


def _stored(settings: Settings, data: bytes | Blob) -> Blob:
    return data if isinstance(data, Blob) else Blob(put_blob(settings, data), len(data))


def _lock_chain(db: Database, session: Session) -> None:
    # SQLite writes are already serialised; PostgreSQL needs a lock so the chain never forks.
    if not db.is_sqlite:
        session.execute(text("SELECT pg_advisory_xact_lock(770006)"))


def manifest_body(incident_id: str, ts: datetime, records: list[tuple[str, str]]) -> bytes:
    body = {
        "incident_id": incident_id,
        "ts": canonical_ts(ts),
        "records": [[rid, h] for rid, h in records],
        "head": records[-1][1] if records else GENESIS,
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _write_manifest(session: Session, key: Any, incident_id: str, now: datetime) -> None:
    rows = session.execute(
        select(EvidenceRow.id, EvidenceRow.record_hash)
        .where(EvidenceRow.incident_id == incident_id)
        .order_by(EvidenceRow.seq)
    ).all()
    body = manifest_body(incident_id, now, [(r[0], r[1]) for r in rows])
    session.add(
        ManifestRow(
            incident_id=incident_id,
            ts=now,
            body=body.decode(),
            signature=keys.sign(key, body),
            public_key=keys.public_b64(key),
        )
    )


def list_evidence(db: Database, incident_id: str | None = None) -> list[dict[str, Any]]:
    """Evidence records (without blobs) in chain order."""
    q = select(EvidenceRow).order_by(EvidenceRow.seq)
    if incident_id is not None:
        q = q.where(EvidenceRow.incident_id == incident_id)
    with db.session() as session:
        return [_plain(r) for r in session.scalars(q)]


def get_evidence(db: Database, evidence_id: str) -> dict[str, Any] | None:
    with db.session() as session:
        row = session.scalar(select(EvidenceRow).where(EvidenceRow.id == evidence_id))
        return _plain(row) if row is not None else None


def _plain(r: EvidenceRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "seq": r.seq,
        "incident_id": r.incident_id,
        "ts": canonical_ts(r.ts),
        "kind": r.kind,
        "label": r.label,
        "blob_sha256": r.blob_sha256,
        "size": r.size,
        "media_type": r.media_type,
        "meta": r.meta or {},
        "prev_hash": r.prev_hash,
        "record_hash": r.record_hash,
    }
