"""Evidence: list an incident's records, fetch one record or its blob, verify the chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from firebreak.api.deps import get_runtime, require
from firebreak.errors import NotFound
from firebreak.runtime import Runtime

router = APIRouter(tags=["evidence"], dependencies=[Depends(require("read"))])


@router.get("/v1/incidents/{incident_id}/evidence")
def incident_evidence(incident_id: str, rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """The incident's evidence records in chain order (blobs are fetched separately)."""
    from firebreak.forensics.evidence import list_evidence
    from firebreak.store.incidents import get_incident

    get_incident(rt.db, incident_id)
    return {"incident_id": incident_id, "items": list_evidence(rt.db, incident_id)}


@router.get("/v1/evidence/verify")
def verify_evidence(
    incident_id: str | None = Query(None, max_length=64), rt: Runtime = Depends(get_runtime)
) -> dict[str, Any]:
    """Verify blobs, chain and signed manifests (of one incident, or of all)."""
    from firebreak.forensics.verify import verify
    from firebreak.store.incidents import get_incident

    if incident_id is not None:
        get_incident(rt.db, incident_id)
    result = verify(rt.db, rt.settings, incident_id)
    return {
        "ok": result.ok,
        "incident_id": incident_id,
        "records": result.records,
        "blobs": result.blobs,
        "manifests": result.manifests,
        "problems": [
            {"kind": p.kind, "evidence_id": p.evidence_id, "message": p.message}
            for p in result.problems
        ],
    }


@router.get("/v1/evidence/{evidence_id}")
def evidence_record(evidence_id: str, rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    from firebreak.forensics.evidence import get_evidence

    record = get_evidence(rt.db, evidence_id)
    if record is None:
        raise NotFound(f"evidence {evidence_id} does not exist", evidence_id=evidence_id)
    return record


@router.get("/v1/evidence/{evidence_id}/blob")
def evidence_blob(evidence_id: str, rt: Runtime = Depends(get_runtime)) -> Response:
    """The captured bytes, as stored (served as an attachment, never rendered)."""
    from firebreak.forensics.evidence import get_evidence, read_blob

    record = get_evidence(rt.db, evidence_id)
    data = read_blob(rt.settings, record["blob_sha256"]) if record else None
    if record is None or data is None:
        raise NotFound(f"evidence {evidence_id} has no blob", evidence_id=evidence_id)
    return Response(
        data,
        media_type=record["media_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{evidence_id}"',
            "X-Content-SHA256": record["blob_sha256"],
        },
    )


@router.get("/v1/evidence/{evidence_id}/events")
def evidence_events(evidence_id: str, rt: Runtime = Depends(get_runtime)) -> Response:
    """An events record's events as one JSON array, its pieces joined (an attachment)."""
    from firebreak.forensics.evidence import EVENTS_MEDIA, get_evidence, read_events

    record = get_evidence(rt.db, evidence_id)
    if record is None or record["media_type"] != EVENTS_MEDIA:
        raise NotFound(f"evidence {evidence_id} is not an events record",
                       evidence_id=evidence_id)
    data = read_events(rt.settings, record)
    if data is None:
        raise NotFound(f"evidence {evidence_id} is missing a piece", evidence_id=evidence_id)
    return Response(data, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{evidence_id}.json"'})
