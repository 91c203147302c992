"""OTLP/HTTP traces: POST /v1/traces (ingest scope), protobuf or JSON encoding."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from firebreak.api.deps import get_runtime, require
from firebreak.api.routers.events import read_body, rejected
from firebreak.ingest.body import BodyRejected
from firebreak.ingest.traces import ingest_traces
from firebreak.runtime import Runtime

router = APIRouter(tags=["otlp"])


@router.post("/v1/traces", dependencies=[Depends(require("ingest"))],
             summary="OpenTelemetry GenAI spans (OTLP/HTTP) as llm.call events")
async def post_traces(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    try:
        body = await read_body(request, runtime.settings.api.max_body_bytes)
        _, answer, media = await ingest_traces(runtime, body, request.headers.get("content-type"))
    except BodyRejected as exc:
        return rejected(exc)
    return Response(answer, media_type=media)
