"""Playbook runs: list and show (read); approve and deny approval steps (operate), also
through a signed link that needs no token."""

from __future__ import annotations

import asyncio
from html import escape
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from firebreak.api.deps import get_db, get_runtime, require
from firebreak.playbooks import service
from firebreak.runtime import Runtime
from firebreak.store.db import Database
from firebreak.store.playbooks import list_runs

router = APIRouter(tags=["runs"])


@router.get("/v1/runs", dependencies=[Depends(require("read"))])
def runs(incident_id: str | None = None, status: str | None = None,
         limit: int = Query(200, ge=1, le=1000),
         db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude={"definition"})
            for r in list_runs(db, incident_id=incident_id, status=status, limit=limit)]


@router.get("/v1/runs/{run_id}", dependencies=[Depends(require("read"))])
def run(run_id: str, db: Database = Depends(get_db)) -> dict[str, Any]:
    return service.run_detail(db, run_id)


async def _decide(request: Request, db: Database, run_id: str, step_id: str,
                  approve: bool) -> dict[str, Any]:
    actor = f"token:{request.state.token.name}"
    step = await asyncio.to_thread(service.decide, db, run_id, step_id, approve=approve,
                                   actor=actor)
    return step.model_dump(mode="json")


@router.post("/v1/runs/{run_id}/steps/{step_id}/approve",
             dependencies=[Depends(require("operate"))])
async def approve(run_id: str, step_id: str, request: Request,
                  db: Database = Depends(get_db)) -> dict[str, Any]:
    return await _decide(request, db, run_id, step_id, True)


@router.post("/v1/runs/{run_id}/steps/{step_id}/deny",
             dependencies=[Depends(require("operate"))])
async def deny(run_id: str, step_id: str, request: Request,
               db: Database = Depends(get_db)) -> dict[str, Any]:
    return await _decide(request, db, run_id, step_id, False)


@router.get("/v1/runs/{run_id}/steps/{step_id}/link", response_class=HTMLResponse)
async def signed_link(run_id: str, step_id: str, decision: Literal["approve", "deny"],
                      expires: int, sig: str = Query(min_length=64, max_length=64),
                      runtime: Runtime = Depends(get_runtime)) -> HTMLResponse:
    """The link sent in approval notifications: the signature stands in for a token."""
    step = await asyncio.to_thread(service.decide_by_link, runtime.db, runtime.settings,
                                   run_id, step_id, decision=decision, expires=expires, sig=sig)
    return HTMLResponse(f"<p>Step <b>{escape(step.step_key)}</b> of run {escape(step.run_id)}: "
                        f"<b>{step.status}</b>.</p>")
