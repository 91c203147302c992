"""Notifications: the delivery queue and its dead-letter list (read); requeue (operate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from firebreak.api.deps import get_runtime, require
from firebreak.incidents.delivery import list_notifications, requeue
from firebreak.runtime import Runtime

router = APIRouter(tags=["notifications"])


@router.get("/v1/notifications", dependencies=[Depends(require("read"))])
def list_(runtime: Runtime = Depends(get_runtime),
          status: str | None = Query(None, pattern="^(pending|sent|dead)$"),
          incident_id: str | None = None,
          limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    return list_notifications(runtime.db, status=status, incident_id=incident_id, limit=limit)


@router.get("/v1/notifications/dead-letter", dependencies=[Depends(require("read"))])
def dead_letter(runtime: Runtime = Depends(get_runtime),
                limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    return list_notifications(runtime.db, status="dead", limit=limit)


@router.post("/v1/notifications/{notification_id}/requeue",
             dependencies=[Depends(require("operate"))])
def requeue_(notification_id: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, str]:
    requeue(runtime.db, notification_id)
    return {"id": notification_id, "status": "pending"}
