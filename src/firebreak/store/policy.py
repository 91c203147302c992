"""Guard policy: the gateway's live containment state, versioned, with a change history.

Playbook actions change it here (or through the control API); gateways poll or are told
of the new version and apply it on their next request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from firebreak.store.db import Database
from firebreak.store.models import GuardPolicyChangeRow, GuardPolicyRow

ALL = "*"


class Route(BaseModel):
    """Where a deployment's traffic goes: upstream and/or model (version), by weight."""

    upstream: str | None = None
    model: str | None = None
    weight: float = Field(1.0, ge=0)


class RateLimit(BaseModel):
    """A token bucket: `rate` requests per second with `burst`, per scope key."""

    scope: Literal["deployment", "api_key", "user", "client_ip"] = "api_key"
    key: str = Field("*", description="one key, or * for each key separately")
    rate: float = Field(gt=0)
    burst: float = Field(1, ge=1)
    expires_at: datetime | None = None


class Block(BaseModel):
    value: str
    reason: str = ""
    expires_at: datetime | None = None


class GuardPolicy(BaseModel):
    """The containment state for one deployment ('*' applies to all)."""

    deployment: str = ALL
    version: int = 0
    routes: list[Route] = Field(default_factory=list)
    rate_limits: list[RateLimit] = Field(default_factory=list)
    blocked_api_keys: list[Block] = Field(default_factory=list)
    blocked_users: list[Block] = Field(default_factory=list)
    blocked_ips: list[Block] = Field(default_factory=list)
    quarantined_sources: list[Block] = Field(default_factory=list)
    mode: Literal["monitor", "block", "strict"] = "monitor"
    kill_switch: bool = False
    safe_message: str = "This assistant is temporarily unavailable. Please try again later."
    thresholds: dict[str, float] = Field(default_factory=dict, description="scanner -> flag at")
    canary: str | None = Field(None, description="canary token the gateway adds to system prompts")
    updated_at: datetime | None = None


def get_policy(db: Database, deployment: str = ALL) -> GuardPolicy:
    with db.session() as session:
        row = session.get(GuardPolicyRow, deployment)
    if row is None:
        return GuardPolicy(deployment=deployment)
    return GuardPolicy.model_validate({**row.body, "deployment": deployment,
                                       "version": row.version, "updated_at": row.updated_at})


def list_policies(db: Database) -> list[GuardPolicy]:
    with db.session() as session:
        names = list(session.scalars(select(GuardPolicyRow.deployment)))
    return [get_policy(db, n) for n in sorted(names)]


def update_policy(
    db: Database,
    deployment: str,
    change: Callable[[GuardPolicy], GuardPolicy],
    *,
    actor: str,
    reason: str = "",
    incident_id: str | None = None,
) -> GuardPolicy:
    """Apply `change` to the stored policy atomically; record before/after; bump version."""
    now = datetime.now(UTC)
    with db.write() as session:
        row = session.get(GuardPolicyRow, deployment, with_for_update=True)
        if row is None:
            row = GuardPolicyRow(deployment=deployment, version=0, body={}, updated_at=now)
            session.add(row)
        before = GuardPolicy.model_validate({**(row.body or {}), "deployment": deployment,
                                             "version": row.version})
        after = change(before.model_copy(deep=True))
        after.deployment, after.version, after.updated_at = deployment, row.version + 1, now
        body = _body(after)
        row.body, row.version, row.updated_at = body, after.version, now
        session.add(GuardPolicyChangeRow(
            deployment=deployment, version=after.version, ts=now, actor=actor, reason=reason,
            before=_body(before), after=body, incident_id=incident_id))
    return after


def set_policy(db: Database, policy: GuardPolicy, *, actor: str, reason: str = "",
               incident_id: str | None = None) -> GuardPolicy:
    """Replace the stored policy for `policy.deployment` wholesale (used by undo)."""
    return update_policy(db, policy.deployment, lambda _old: policy.model_copy(deep=True),
                         actor=actor, reason=reason, incident_id=incident_id)


def _body(p: GuardPolicy) -> dict[str, Any]:
    return p.model_dump(mode="json", exclude={"deployment", "version", "updated_at"})


def policy_changes(db: Database, *, deployment: str | None = None,
                   incident_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    q = select(GuardPolicyChangeRow).order_by(GuardPolicyChangeRow.id.desc()).limit(limit)
    if deployment:
        q = q.where(GuardPolicyChangeRow.deployment == deployment)
    if incident_id:
        q = q.where(GuardPolicyChangeRow.incident_id == incident_id)
    with db.session() as session:
        return [{"id": r.id, "deployment": r.deployment, "version": r.version, "ts": r.ts,
                 "actor": r.actor, "reason": r.reason, "before": r.before, "after": r.after,
                 "incident_id": r.incident_id} for r in session.scalars(q)]
