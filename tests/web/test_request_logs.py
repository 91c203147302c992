"""Structured logs: every line written during a request carries its request and incident ids."""

from __future__ import annotations

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from structlog.testing import capture_logs

from firebreak.api.observe import RequestContext
from firebreak.logging import incident_context


async def handler(request: Request) -> JSONResponse:
    structlog.get_logger("test").info("handling", path=request.url.path)
    return JSONResponse({"ok": True})


APP = RequestContext(Starlette(routes=[Route("/v1/incidents/{incident_id}", handler),
                                       Route("/plain", handler)]))


async def test_request_and_incident_ids_reach_every_log_line() -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://fb") as client:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            resp = await client.get("/v1/incidents/inc-abc123", headers={"X-Request-ID": "req-1"})
            other = await client.get("/plain")
    assert resp.headers["x-request-id"] == "req-1"
    handling = [e for e in logs if e["event"] == "handling"]
    assert handling[0]["request_id"] == "req-1" and handling[0]["incident_id"] == "inc-abc123"
    assert handling[1]["request_id"] == other.headers["x-request-id"]
    assert "incident_id" not in handling[1]  # nothing leaks from one request to the next
    canonical = [e for e in logs if e["event"] == "http.request"]
    assert canonical[0]["status"] == 200 and canonical[0]["route"] == "/v1/incidents/{incident_id}"


def test_incident_context_binds_for_stage_work() -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        with incident_context("inc-9"):
            structlog.get_logger("stage").info("acting")
        structlog.get_logger("stage").info("after")
    assert logs[0]["incident_id"] == "inc-9" and "incident_id" not in logs[1]
