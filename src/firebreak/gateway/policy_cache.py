"""The gateway's copy of the guard policy, refreshed from the store.

A background task reads the (deployment, version) pairs every `poll_seconds` (one small
query) and reloads only the policies whose version moved. If the store is unreachable the
last known policy stays in force.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import select

from firebreak import metrics
from firebreak.store import Database
from firebreak.store.models import GuardPolicyRow
from firebreak.store.policy import ALL, GuardPolicy, get_policy

log = structlog.get_logger(__name__)


class PolicyCache:
    """Last known guard policies by deployment, kept fresh by `run()`."""

    def __init__(self, db: Database, poll_seconds: float = 0.25) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.policies: dict[str, GuardPolicy] = {}
        self.healthy = False
        self._task: asyncio.Task[None] | None = None
        # merged policy per deployment, with the two policies it came from: rebuilt only
        # when either is replaced (a reload makes new objects), not on every request
        self._merged: dict[str, tuple[GuardPolicy | None, GuardPolicy | None, GuardPolicy]] = {}

    def refresh(self) -> bool:
        """Reload the policies whose version changed; False if the store failed."""
        try:
            with self.db.session() as session:
                # rows unpack as pairs; `.tuples()` would raise a deprecation warning per poll
                rows = session.execute(
                    select(GuardPolicyRow.deployment, GuardPolicyRow.version)).all()
                versions = {name: version for name, version in rows}
            for name, version in versions.items():
                known = self.policies.get(name)
                if known is None or known.version != version:
                    self.policies[name] = get_policy(self.db, name)
                    metrics.policy_version.labels(deployment=name).set(version)
            for gone in set(self.policies) - set(versions):
                del self.policies[gone]
        except Exception as exc:  # keep the last known policy
            if self.healthy:
                log.warning("gateway.policy_refresh_failed", error=str(exc))
            self.healthy = False
            return False
        self.healthy = True
        return True

    def effective(self, deployment: str) -> GuardPolicy:
        """The policy for `deployment` merged with the '*' policy."""
        base, own = self.policies.get(ALL), self.policies.get(deployment)
        known = self._merged.get(deployment)
        if known is not None and known[0] is base and known[1] is own:
            return known[2]
        merged = merge(base, own, deployment)
        if len(self._merged) >= 10_000:  # names come from callers: keep the memo bounded
            self._merged.clear()
        self._merged[deployment] = (base, own, merged)
        return merged

    async def start(self) -> None:
        await asyncio.to_thread(self.refresh)
        self._task = asyncio.create_task(self._run(), name="gateway-policy-poll")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            await asyncio.to_thread(self.refresh)


_ORDER = {"monitor": 0, "block": 1, "strict": 2}


def merge(base: GuardPolicy | None, own: GuardPolicy | None, deployment: str) -> GuardPolicy:
    """Combine the '*' policy with a deployment's: lists add up, the stricter mode wins,
    either kill switch stops traffic, the deployment's routes and settings come first."""
    if base is None and own is None:
        return GuardPolicy(deployment=deployment)
    if base is None or own is None:
        return (own or base).model_copy(update={"deployment": deployment})  # type: ignore[union-attr]
    default = GuardPolicy()
    return own.model_copy(update={
        "routes": own.routes or base.routes,
        "rate_limits": base.rate_limits + own.rate_limits,
        "blocked_api_keys": base.blocked_api_keys + own.blocked_api_keys,
        "blocked_users": base.blocked_users + own.blocked_users,
        "blocked_ips": base.blocked_ips + own.blocked_ips,
        "quarantined_sources": base.quarantined_sources + own.quarantined_sources,
        "mode": max(base.mode, own.mode, key=_ORDER.__getitem__),
        "kill_switch": base.kill_switch or own.kill_switch,
        "safe_message": own.safe_message if own.safe_message != default.safe_message
        else base.safe_message,
        "thresholds": {**base.thresholds, **own.thresholds},
        "canary": own.canary or base.canary,
    })
