"""Guard policy: read it (read scope), replace it or apply operations (operate scope).
Every change goes through store.policy.update_policy: versioned, with history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from firebreak.api.deps import get_db, require
from firebreak.gateway.operations import Operation, apply_all
from firebreak.store import Database
from firebreak.store.policy import (
    GuardPolicy,
    get_policy,
    list_policies,
    policy_changes,
    set_policy,
    update_policy,
)
from firebreak.store.tokens import TokenInfo

router = APIRouter(tags=["guard policy"])


class PolicyChange(BaseModel):
    """A list of operations applied atomically, with the why."""

    ops: list[Operation] = Field(min_length=1)
    reason: str = ""
    incident_id: str | None = None


class PolicyBody(GuardPolicy):
    """A whole policy (PUT); deployment, version and updated_at are ignored."""

    reason: str = Field("", exclude=True)


@router.get("/v1/policy", dependencies=[Depends(require("read"))])
def list_all(db: Database = Depends(get_db)) -> list[GuardPolicy]:
    return list_policies(db)


@router.get("/v1/policy/{deployment}", dependencies=[Depends(require("read"))])
def read(deployment: str, db: Database = Depends(get_db)) -> GuardPolicy:
    return get_policy(db, deployment)


@router.get("/v1/policy/{deployment}/history", dependencies=[Depends(require("read"))])
def history(deployment: str, limit: int = Query(100, ge=1, le=500),
            db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return policy_changes(db, deployment=deployment, limit=limit)


@router.put("/v1/policy/{deployment}")
def replace(deployment: str, body: PolicyBody, db: Database = Depends(get_db),
            token: TokenInfo = Depends(require("operate"))) -> GuardPolicy:
    policy = GuardPolicy.model_validate(body.model_dump(exclude={"reason"}))
    policy.deployment = deployment
    return set_policy(db, policy, actor=f"token:{token.name}", reason=body.reason)


@router.patch("/v1/policy/{deployment}")
def change(deployment: str, body: PolicyChange, db: Database = Depends(get_db),
           token: TokenInfo = Depends(require("operate"))) -> GuardPolicy:
    return update_policy(db, deployment, lambda p: apply_all(p, list(body.ops)),
                         actor=f"token:{token.name}", reason=body.reason,
                         incident_id=body.incident_id)
