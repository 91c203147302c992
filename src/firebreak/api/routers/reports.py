"""Reports: the forensic report of an incident, rendered on request (nothing is written)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response

from firebreak.api.deps import get_runtime, require
from firebreak.runtime import Runtime

router = APIRouter(tags=["reports"], dependencies=[Depends(require("read"))])
MEDIA = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


@router.get("/v1/incidents/{incident_id}/report")
def incident_report(
    incident_id: str,
    format: Literal["md", "html", "json"] = Query("json"),  # noqa: A002
    window_seconds: int | None = Query(None, ge=1, le=7 * 86400),
    rt: Runtime = Depends(get_runtime),
) -> Response:
    """The report in `format`; findings cite the evidence captured so far."""
    from firebreak.forensics.render import render
    from firebreak.forensics.report import build_report
    from firebreak.store.incidents import get_incident

    get_incident(rt.db, incident_id)
    data = build_report(
        rt.db, rt.settings, incident_id, window_seconds or rt.settings.forensics.window_seconds
    )
    return Response(render(data, format), media_type=MEDIA[format])
