"""The event JSON Schema, for clients and editors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from firebreak.api.deps import require
from firebreak.events import events_json_schema

router = APIRouter(tags=["schema"])


@router.get("/v1/schema/events", dependencies=[Depends(require("read"))])
def event_schema() -> dict[str, Any]:
    return events_json_schema()
