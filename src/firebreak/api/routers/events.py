"""Events: POST /v1/events (ingest scope) and GET /v1/events (read scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from firebreak.api.deps import get_runtime, require
from firebreak.api.problems import problem
from firebreak.ingest.body import BodyRejected, decompress, is_ndjson, too_large
from firebreak.ingest.redact import Redactor
from firebreak.ingest.service import ingest_body_and_publish
from firebreak.runtime import Runtime
from firebreak.store.events import EventFilter, query_events

router = APIRouter(tags=["events"])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, refused (413) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    return decompress(b"".join(chunks), request.headers.get("content-encoding"), limit)


def rejected(exc: BodyRejected) -> Response:
    """A refused body as an RFC 9457 problem naming the field and the reason."""
    return problem(exc.status_code, "Request body refused", exc.message,
                   errors=[{"field": exc.field, "reason": exc.reason}])


@router.post("/v1/events", dependencies=[Depends(require("ingest"))],
             summary="Ingest a JSON array (or NDJSON) of events")
async def post_events(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    """Keep the good events, refuse the bad ones by index; durable before the answer."""
    limits = runtime.settings.api
    try:
        body = await read_body(request, limits.max_body_bytes)
        result = await ingest_body_and_publish(
            runtime, body, ndjson=is_ndjson(request.headers.get("content-type")))
    except BodyRejected as exc:
        return rejected(exc)
    return JSONResponse(result.as_dict())


@router.get("/v1/events", dependencies=[Depends(require("read"))],
            summary="Read events back, filtered, with cursor pagination")
def get_events(
    runtime: Runtime = Depends(get_runtime),
    deployment: str | None = None,
    kind: str | None = None,
    since: datetime | None = Query(None, description="inclusive lower bound on ts"),
    until: datetime | None = Query(None, description="exclusive upper bound on ts"),
    request_id: str | None = None,
    user_id: str | None = Query(None, description="raw or hashed; hashed like ingest does"),
    session_id: str | None = None,
    api_key_id: str | None = None,
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
) -> Any:
    after = None
    if cursor is not None:
        if not cursor.isdigit():
            return problem(422, "Invalid request", "cursor: not a cursor from this API",
                           errors=[{"field": "cursor", "reason": "not a cursor from this API"}])
        after = int(cursor)
    red = runtime.settings.redaction
    if red.enabled and red.hash_ids:  # ids are stored hashed: hash the query the same way
        redactor = Redactor(red)
        user_id, session_id = redactor.hash_id(user_id), redactor.hash_id(session_id)
    f = EventFilter(deployment=deployment, kind=kind, since=since, until=until,
                    request_id=request_id, user_id=user_id, session_id=session_id,
                    api_key_id=api_key_id)
    events, nxt = query_events(runtime.db, f, after=after, limit=limit)
    return {"events": events, "next_cursor": None if nxt is None else str(nxt)}
