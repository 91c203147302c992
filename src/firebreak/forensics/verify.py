"""Verify evidence: every blob against its hash, the chain link by link, manifests by signature.

Each problem names what is wrong and which record: changed, removed, added, reordered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson
from sqlalchemy import select

from firebreak.config import Settings
from firebreak.forensics import keys
from firebreak.forensics.evidence import (
    EVENTS_MEDIA,
    GENESIS,
    event_pieces,
    read_blob,
    record_hash,
)
from firebreak.store.db import Database
from firebreak.store.forensics import EvidenceRow, ManifestRow


@dataclass(frozen=True)
class Problem:
    """One thing verification found wrong."""

    kind: str  # blob_changed, blob_missing, record_changed, record_removed, record_added,
    #            reordered, chain_broken, bad_signature, no_manifest
    evidence_id: str | None
    message: str


@dataclass
class VerifyResult:
    incident_id: str | None
    records: int = 0
    blobs: int = 0
    manifests: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, evidence_id: str | None, message: str) -> None:
        if not any(p.kind == kind and p.evidence_id == evidence_id for p in self.problems):
            self.problems.append(Problem(kind, evidence_id, message))


def verify(db: Database, settings: Settings, incident_id: str | None = None) -> VerifyResult:
    """Check the evidence of one incident (or of all) and say what, if anything, moved."""
    with db.session() as session:
        rows = list(session.scalars(select(EvidenceRow).order_by(EvidenceRow.seq)))
        mq = select(ManifestRow).order_by(ManifestRow.id)
        if incident_id is not None:
            mq = mq.where(ManifestRow.incident_id == incident_id)
        manifests = list(session.scalars(mq))
    result = VerifyResult(incident_id)
    scoped = [r for r in rows if incident_id is None or r.incident_id == incident_id]
    result.records = len(scoped)
    _check_chain(rows, result, incident_id)
    _check_blobs(settings, scoped, result)
    _check_manifests(settings, scoped, manifests, result, incident_id)
    return result


def _check_chain(rows: list[EvidenceRow], result: VerifyResult, incident_id: str | None) -> None:
    by_hash = {r.record_hash: r.id for r in rows}
    prev, prev_id = GENESIS, None
    for row in rows:
        mine = incident_id is None or row.incident_id == incident_id
        if mine and record_hash(row) != row.record_hash:
            result.add(
                "record_changed",
                row.id,
                f"record {row.id} changed: its content no longer matches its hash",
            )
        if row.prev_hash != prev and mine:
            if row.prev_hash in by_hash:
                result.add(
                    "reordered",
                    row.id,
                    f"records reordered: {row.id} should follow {by_hash[row.prev_hash]}"
                    f" but follows {prev_id or 'the start of the chain'}",
                )
            else:
                result.add(
                    "record_removed",
                    row.id,
                    f"chain broken before {row.id}: a record was removed "
                    f"(it links to {row.prev_hash[:12]}, which no record has)",
                )
        prev, prev_id = row.record_hash, row.id


def _check_blobs(settings: Settings, rows: list[EvidenceRow], result: VerifyResult) -> None:
    for row in rows:
        data = _check_blob(settings, row.id, row.blob_sha256, result)
        if data is not None and row.media_type == EVENTS_MEDIA:
            # an events record's blob lists the pieces holding its events: check them too
            for piece in event_pieces(data):
                _check_blob(settings, row.id, piece["sha256"], result, "piece ")


def _check_blob(settings: Settings, record_id: str, sha: str, result: VerifyResult,
                what: str = "") -> bytes | None:
    data = read_blob(settings, sha)
    result.blobs += 1
    if data is None:
        result.add("blob_missing", record_id,
                   f"{what}blob {sha[:12]} of record {record_id} is missing")
        return None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha:
        result.add("blob_changed", record_id, f"{what}blob {sha[:12]} of record {record_id} "
                   f"changed: its SHA-256 is now {actual[:12]}")
        return None
    return data


def _check_manifests(
    settings: Settings,
    rows: list[EvidenceRow],
    manifests: list[ManifestRow],
    result: VerifyResult,
    incident_id: str | None,
) -> None:
    trusted = keys.public_b64(keys.signing_key(settings))
    latest: dict[str, ManifestRow] = {}
    for m in manifests:
        result.manifests += 1
        if m.public_key != trusted or not keys.signature_ok(trusted, m.body.encode(), m.signature):
            result.add(
                "bad_signature",
                None,
                f"manifest {m.id} of incident {m.incident_id}: signature does not verify",
            )
        latest[m.incident_id] = m
    incidents = {r.incident_id for r in rows if r.incident_id} | set(latest)
    for inc in sorted(incidents):
        mine = [r for r in rows if r.incident_id == inc]
        if inc not in latest:
            result.add(
                "no_manifest", None, f"incident {inc}: no signed manifest covers its records"
            )
            continue
        _compare(orjson.loads(latest[inc].body)["records"], mine, result, inc)


def _compare(
    signed: list[list[str]], rows: list[EvidenceRow], result: VerifyResult, incident_id: str
) -> None:
    stored = {r.id: r for r in rows}
    signed_hash = {rid: h for rid, h in signed}
    for rid, _h in signed:
        if rid not in stored:
            result.add(
                "record_removed",
                rid,
                f"record {rid} removed: the signed manifest of {incident_id} lists it",
            )
    for r in rows:
        if r.id not in signed_hash:
            result.add(
                "record_added",
                r.id,
                f"record {r.id} added: no signed manifest of {incident_id} lists it",
            )
        elif signed_hash[r.id] != record_hash(r):
            result.add(
                "record_changed",
                r.id,
                f"record {r.id} changed: its hash differs from the signed manifest",
            )
    order_signed = [rid for rid, _ in signed if rid in stored]
    order_stored = [r.id for r in rows if r.id in signed_hash]
    for a, b in zip(order_signed, order_stored, strict=True):
        if a != b:
            result.add(
                "reordered",
                b,
                f"records reordered: {b} is stored where the signed "
                f"manifest of {incident_id} has {a}",
            )
            break
