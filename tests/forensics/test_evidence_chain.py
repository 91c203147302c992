"""Tamper tests: every kind of change to evidence makes verify fail and say which record."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update

from firebreak.config import Settings
from firebreak.forensics.evidence import (
    add_evidence,
    blob_dir,
    blob_path,
    json_item,
    list_evidence,
    put_blob,
    read_blob,
    write_blob,
)
from firebreak.forensics.verify import verify
from firebreak.store import Database
from firebreak.store.forensics import EvidenceRow

from .conftest import make_incident


def _capture(db: Database, settings: Settings) -> tuple[str, list[str]]:
    inc = make_incident(db, "support-bot")
    ids = add_evidence(
        db, settings, inc.id, [json_item("note", f"item {i}", {"i": i}) for i in range(4)]
    )
    return inc.id, ids


def test_untouched_evidence_verifies(db: Database, settings: Settings) -> None:
    inc, ids = _capture(db, settings)
    result = verify(db, settings, inc)
    assert result.ok, result.problems
    assert (result.records, result.blobs, result.manifests) == (4, 4, 1)
    assert [r["id"] for r in list_evidence(db, inc)] == ids
    assert read_blob(settings, list_evidence(db, inc)[0]["blob_sha256"]) == b'{"i":0}'


def test_flipped_blob_byte_is_named(db: Database, settings: Settings) -> None:
    inc, ids = _capture(db, settings)
    path = blob_path(settings, list_evidence(db, inc)[2]["blob_sha256"])
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(db, settings, inc)
    assert not result.ok
    assert [(p.kind, p.evidence_id) for p in result.problems] == [("blob_changed", ids[2])]
    assert f"of record {ids[2]} changed" in result.problems[0].message


def test_deleted_record_is_named(db: Database, settings: Settings) -> None:
    inc, ids = _capture(db, settings)
    with db.write() as s:
        s.execute(delete(EvidenceRow).where(EvidenceRow.id == ids[1]))
    result = verify(db, settings)
    kinds = {(p.kind, p.evidence_id) for p in result.problems}
    assert ("record_removed", ids[1]) in kinds  # from the signed manifest
    assert ("record_removed", ids[2]) in kinds  # chain broken just before the next record
    assert any(f"record {ids[1]} removed" in p.message for p in result.problems)


def test_swapped_records_are_reported_reordered(db: Database, settings: Settings) -> None:
    inc, ids = _capture(db, settings)
    rows = {r["id"]: r["seq"] for r in list_evidence(db, inc)}
    a, b = rows[ids[1]], rows[ids[2]]
    with db.write() as s:  # swap positions in the chain
        s.execute(update(EvidenceRow).where(EvidenceRow.seq == a).values(seq=-1))
        s.execute(update(EvidenceRow).where(EvidenceRow.seq == b).values(seq=a))
        s.execute(update(EvidenceRow).where(EvidenceRow.seq == -1).values(seq=b))
    result = verify(db, settings, inc)
    assert not result.ok
    assert {p.kind for p in result.problems} == {"reordered"}
    assert any("reordered" in p.message and ids[2] in p.message for p in result.problems)


def test_changed_and_added_records_are_named(db: Database, settings: Settings) -> None:
    inc, ids = _capture(db, settings)
    with db.write() as s:
        s.execute(update(EvidenceRow).where(EvidenceRow.id == ids[0]).values(label="edited"))
        last = s.get(EvidenceRow, list_evidence(db, inc)[-1]["seq"])
        assert last is not None
        s.add(
            EvidenceRow(
                id="ev-forged",
                incident_id=inc,
                ts=last.ts,
                kind="note",
                label="x",
                blob_sha256=last.blob_sha256,
                size=last.size,
                media_type="x",
                meta={},
                prev_hash=last.record_hash,
                record_hash="0" * 64,
            )
        )
    kinds = {(p.kind, p.evidence_id) for p in verify(db, settings, inc).problems}
    assert ("record_changed", ids[0]) in kinds
    assert ("record_added", "ev-forged") in kinds


def test_manifest_signed_by_another_key_fails(db: Database, settings: Settings) -> None:
    inc, _ = _capture(db, settings)
    other = settings.model_copy(update={"data_dir": settings.data_dir / "other"})
    # Same blobs, but the verifier trusts a different key (a fresh one is generated).
    shutil.copytree(settings.data_dir / "evidence" / "blobs", other.data_dir / "evidence" / "blobs")
    result = verify(db, other, inc)
    assert [p.kind for p in result.problems] == ["bad_signature"]


def test_blob_written_in_chunks_is_atomic(settings: Settings) -> None:
    """A blob written from chunks is stored under the hash of the whole; a writer that fails
    part way leaves neither a blob nor a temporary file behind."""
    blob = write_blob(settings, [b"[1,", b"2,", b"3]"])
    assert blob == write_blob(settings, [b"[1,2,3]"])  # the same bytes: the same blob, kept
    assert blob.size == 7 and read_blob(settings, blob.sha256) == b"[1,2,3]"
    assert put_blob(settings, b"[1,2,3]") == blob.sha256

    def broken() -> Iterator[bytes]:
        yield b"[4,"
        raise RuntimeError("the database went away")

    before = sorted(blob_dir(settings).rglob("*"))
    with pytest.raises(RuntimeError, match="went away"):
        write_blob(settings, broken())
    assert sorted(blob_dir(settings).rglob("*")) == before
