"""Deployments seen in telemetry: GET /v1/deployments (read scope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from firebreak.api.deps import get_runtime, require
from firebreak.runtime import Runtime
from firebreak.store.events import list_deployments

router = APIRouter(tags=["deployments"])


@router.get("/v1/deployments", dependencies=[Depends(require("read"))],
            summary="Every deployment seen, with event counts per kind and model versions")
def get_deployments(runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"deployments": list_deployments(runtime.db)}
