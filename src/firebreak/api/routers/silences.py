"""Silences: list (read); create and expire (operate). Matchers as in Alertmanager's v2 API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from firebreak.api.deps import get_runtime, require
from firebreak.incidents.silences import Matcher, create_silence, expire_silence, list_silences
from firebreak.runtime import Runtime

router = APIRouter(tags=["silences"])


class NewSilence(BaseModel):
    matchers: list[Matcher] = Field(min_length=1, max_length=50)
    startsAt: datetime | None = None  # noqa: N815 - Alertmanager's wire names
    endsAt: datetime | None = None  # noqa: N815
    duration_seconds: float | None = Field(None, gt=0, le=90 * 24 * 3600)
    createdBy: str | None = Field(None, max_length=200)  # noqa: N815
    comment: str = Field("", max_length=2000)


@router.get("/v1/silences", dependencies=[Depends(require("read"))])
def list_(runtime: Runtime = Depends(get_runtime), state: str | None = None,
          ) -> list[dict[str, Any]]:
    now = datetime.now().astimezone()
    return [s.model_dump(mode="json") | {"state": s.state(now)}
            for s in list_silences(runtime.db, state=state)]


@router.post("/v1/silences", status_code=201, dependencies=[Depends(require("operate"))])
def create(body: NewSilence, request: Request,
           runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    by = body.createdBy or f"token:{request.state.token.name}"
    dur = timedelta(seconds=body.duration_seconds) if body.duration_seconds else None
    silence = create_silence(runtime.db, matchers=body.matchers, created_by=by,
                             comment=body.comment, starts_at=body.startsAt,
                             ends_at=body.endsAt, duration=dur)
    return silence.model_dump(mode="json")


@router.delete("/v1/silences/{silence_id}", dependencies=[Depends(require("operate"))])
def expire(silence_id: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return expire_silence(runtime.db, silence_id).model_dump(mode="json")
