"""Intake of external alerts (ingest scope): Alertmanager webhook v4 and generic JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends

from firebreak.api.deps import get_runtime, require
from firebreak.incidents.intake import (
    AmMessage,
    GenericAlert,
    GenericBatch,
    from_alertmanager,
    from_generic,
)
from firebreak.ingest.service import ingest_and_publish
from firebreak.runtime import Runtime

router = APIRouter(tags=["intake"])


@router.post("/v1/intake/alertmanager", dependencies=[Depends(require("ingest"))])
async def alertmanager(body: AmMessage, deployment: str | None = None,
                       runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Alertmanager `webhook_configs` target: 2xx once the alerts are stored."""
    items = from_alertmanager(body, default_deployment=deployment)
    result = await ingest_and_publish(runtime, items, source="alertmanager")
    return result.as_dict()


@router.post("/v1/intake/webhook", dependencies=[Depends(require("ingest"))])
async def webhook(body: GenericBatch | GenericAlert, deployment: str | None = None,
                  runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """One alert, or {"alerts": [...]}, from any monitor."""
    batch = body if isinstance(body, GenericBatch) else GenericBatch(alerts=[body])
    items = from_generic(batch, now=datetime.now(UTC), default_deployment=deployment)
    result = await ingest_and_publish(runtime, items, source="webhook")
    return result.as_dict()
