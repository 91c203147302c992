"""Incidents: list and show (read); acknowledge, move, resolve, assign, re-grade (operate)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from firebreak import bus
from firebreak.api.deps import get_runtime, require
from firebreak.incidents import lifecycle, views
from firebreak.runtime import Runtime
from firebreak.store.incidents import Incident, list_incidents

router = APIRouter(tags=["incidents"])


class Actor(BaseModel):
    actor: str | None = Field(None, max_length=200, description="who did it (default: token)")
    note: str = Field("", max_length=2000)


class StatusChange(Actor):
    status: str


class Assignment(Actor):
    role: str = Field(description=", ".join(lifecycle.ROLES))
    person: str = Field(min_length=1, max_length=200)


class Regrade(Actor):
    severity: str
    reason: str = Field(min_length=1, max_length=2000)


def _actor(request: Request, body: Actor | None) -> str:
    if body is not None and body.actor:
        return body.actor
    return f"token:{request.state.token.name}"


async def _change(runtime: Runtime, change: str | None, fn: Callable[..., Incident],
                  *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one lifecycle change off the loop, then publish it (the bus.INCIDENTS contract)."""
    inc = await asyncio.to_thread(fn, runtime.db, *args, **kwargs)
    if change:
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id, "change": change}])
    return inc.model_dump(mode="json")


@router.get("/v1/incidents", dependencies=[Depends(require("read"))])
def list_(runtime: Runtime = Depends(get_runtime), deployment: str | None = None,
          status: str | None = None, category: str | None = None,
          severity: str | None = None,
          limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    found = list_incidents(runtime.db, deployment=deployment, status=status,
                           category=category, severity=severity, limit=limit)
    return [i.model_dump(mode="json") for i in found]


@router.get("/v1/incidents/{incident_id}", dependencies=[Depends(require("read"))])
def show(incident_id: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return views.detail(runtime.db, incident_id)


@router.post("/v1/incidents/{incident_id}/ack", dependencies=[Depends(require("operate"))])
async def ack(incident_id: str, request: Request, body: Actor | None = None,
              runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    out = await _change(runtime, "status", lifecycle.acknowledge, incident_id,
                        actor=_actor(request, body))
    await asyncio.to_thread(views.notify_acknowledged, runtime.db,
                            runtime.settings.notifiers, Incident.model_validate(out))
    return out


@router.post("/v1/incidents/{incident_id}/resolve", dependencies=[Depends(require("operate"))])
async def resolve(incident_id: str, request: Request, body: Actor | None = None,
                  runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return await _change(runtime, "resolved", lifecycle.resolve, incident_id,
                         actor=_actor(request, body), note=body.note if body else "")


@router.post("/v1/incidents/{incident_id}/status", dependencies=[Depends(require("operate"))])
async def status(incident_id: str, body: StatusChange, request: Request,
                 runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    change = "resolved" if body.status == "resolved" else "status"
    return await _change(runtime, change, lifecycle.transition, incident_id, body.status,
                         actor=_actor(request, body), note=body.note)


@router.post("/v1/incidents/{incident_id}/assign", dependencies=[Depends(require("operate"))])
async def assign(incident_id: str, body: Assignment, request: Request,
                 runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return await _change(runtime, None, lifecycle.assign, incident_id, role=body.role,
                         person=body.person, actor=_actor(request, body))


@router.post("/v1/incidents/{incident_id}/severity",
             dependencies=[Depends(require("operate"))])
async def severity(incident_id: str, body: Regrade, request: Request,
                   runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return await _change(runtime, "severity", lifecycle.set_severity, incident_id,
                         body.severity, actor=_actor(request, body), reason=body.reason)
