"""The audit log: GET /v1/audit (admin scope), newest first, paged by `before_id`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from firebreak.api.deps import get_db, require
from firebreak.store import Database
from firebreak.store.audit import list_audit

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", dependencies=[Depends(require("admin"))])
def audit(db: Database = Depends(get_db),
          limit: int = Query(100, ge=1, le=1000),
          before_id: int | None = Query(None, ge=1, le=2**62),
          token_id: int | None = Query(None, ge=0, le=2**31 - 1)) -> dict[str, Any]:
    """Who called which operate or admin route, when, from where, with what outcome."""
    entries = list_audit(db, limit=limit, before_id=before_id, token_id=token_id)
    return {"entries": entries, "next_before_id": entries[-1]["id"] if entries else None}
