"""Playbooks: the loaded playbooks and their matching fields (read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from firebreak.api.deps import get_runtime, require
from firebreak.errors import NotFound
from firebreak.playbooks import service
from firebreak.runtime import Runtime

router = APIRouter(tags=["playbooks"])


@router.get("/v1/playbooks", dependencies=[Depends(require("read"))])
def list_playbooks(runtime: Runtime = Depends(get_runtime)) -> list[dict[str, Any]]:
    engine = runtime.extras.get("playbook_engine")
    pbs = service.playbooks(runtime.settings, engine)
    return [service.summary(p) for p in sorted(pbs, key=lambda p: (p.priority, p.name))]


@router.get("/v1/playbooks/{name}", dependencies=[Depends(require("read"))])
def get_playbook(name: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    engine = runtime.extras.get("playbook_engine")
    for pb in service.playbooks(runtime.settings, engine):
        if pb.name == name:
            return pb.model_dump(mode="json", by_alias=True)
    raise NotFound(f"no playbook named {name!r}")
