"""Guard-policy operations: the small, named changes that the control API (and anyone
else) applies through `store.policy.update_policy`, so each is versioned with history.

An operation is `{"op": <name>, ...fields}`:
block / unblock {kind: api_key|user|ip, value, reason?, ttl_seconds?};
throttle {scope, key?, rate, burst?, ttl_seconds?} / unthrottle {scope, key?};
quarantine / unquarantine {source, reason?, ttl_seconds?};
mode {mode: monitor|block|strict}; kill_switch {on, safe_message?};
route {routes: [{upstream?, model?, weight?}]}; thresholds {thresholds: {scanner: value}};
canary {canary: str|null}.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from firebreak.store.policy import Block, GuardPolicy, RateLimit, Route

_LISTS = {"api_key": "blocked_api_keys", "user": "blocked_users", "ip": "blocked_ips"}


def _expiry(ttl: float | None) -> datetime | None:
    return datetime.now(UTC) + timedelta(seconds=ttl) if ttl else None


class BlockOp(BaseModel):
    op: Literal["block", "unblock"]
    kind: Literal["api_key", "user", "ip"]
    value: str = Field(min_length=1, max_length=500)
    reason: str = ""
    ttl_seconds: float | None = Field(None, gt=0)

    def apply(self, p: GuardPolicy) -> None:
        entries: list[Block] = getattr(p, _LISTS[self.kind])
        entries[:] = [b for b in entries if b.value != self.value]
        if self.op == "block":
            entries.append(Block(value=self.value, reason=self.reason,
                                 expires_at=_expiry(self.ttl_seconds)))


class ThrottleOp(BaseModel):
    op: Literal["throttle", "unthrottle"]
    scope: Literal["deployment", "api_key", "user", "client_ip"] = "api_key"
    key: str = "*"
    rate: float = Field(1.0, gt=0)
    burst: float = Field(1.0, ge=1)
    ttl_seconds: float | None = Field(None, gt=0)

    def apply(self, p: GuardPolicy) -> None:
        p.rate_limits = [r for r in p.rate_limits if (r.scope, r.key) != (self.scope, self.key)]
        if self.op == "throttle":
            p.rate_limits.append(RateLimit(scope=self.scope, key=self.key, rate=self.rate,
                                           burst=self.burst, expires_at=_expiry(self.ttl_seconds)))


class QuarantineOp(BaseModel):
    op: Literal["quarantine", "unquarantine"]
    source: str = Field(min_length=1, max_length=500)
    reason: str = ""
    ttl_seconds: float | None = Field(None, gt=0)

    def apply(self, p: GuardPolicy) -> None:
        p.quarantined_sources = [b for b in p.quarantined_sources if b.value != self.source]
        if self.op == "quarantine":
            p.quarantined_sources.append(Block(value=self.source, reason=self.reason,
                                               expires_at=_expiry(self.ttl_seconds)))


class ModeOp(BaseModel):
    op: Literal["mode"]
    mode: Literal["monitor", "block", "strict"]

    def apply(self, p: GuardPolicy) -> None:
        p.mode = self.mode


class KillSwitchOp(BaseModel):
    op: Literal["kill_switch"]
    on: bool
    safe_message: str | None = Field(None, min_length=1, max_length=2000)

    def apply(self, p: GuardPolicy) -> None:
        p.kill_switch = self.on
        if self.safe_message:
            p.safe_message = self.safe_message


class RouteOp(BaseModel):
    op: Literal["route"]
    routes: list[Route] = Field(description="empty list: back to the configured upstream")

    def apply(self, p: GuardPolicy) -> None:
        p.routes = list(self.routes)


class ThresholdsOp(BaseModel):
    op: Literal["thresholds"]
    thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]]

    def apply(self, p: GuardPolicy) -> None:
        p.thresholds = dict(self.thresholds)


class CanaryOp(BaseModel):
    op: Literal["canary"]
    canary: str | None = Field(None, min_length=8, max_length=200)

    def apply(self, p: GuardPolicy) -> None:
        p.canary = self.canary


Operation = Annotated[BlockOp | ThrottleOp | QuarantineOp | ModeOp | KillSwitchOp | RouteOp
                      | ThresholdsOp | CanaryOp, Field(discriminator="op")]


def apply_all(policy: GuardPolicy, ops: list[BaseModel]) -> GuardPolicy:
    """`policy` with every operation applied in order."""
    for op in ops:
        op.apply(policy)  # type: ignore[attr-defined]
    return policy
