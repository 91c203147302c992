"""GET /metrics: every Firebreak metric in the Prometheus text format (read scope).

Prometheus sends the token as a bearer credential (`authorization: credentials_file` in
the scrape config); see docs/metrics.md.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from firebreak.api.deps import get_db, require
from firebreak.store import Database
from firebreak.web import gauges

router = APIRouter(tags=["metrics"])


@router.get("/metrics", dependencies=[Depends(require("read"))], response_class=Response,
            summary="Prometheus metrics")
def metrics(db: Database = Depends(get_db)) -> Response:
    gauges.refresh(db)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
