"""Gateway containment: each action changes the guard policy in the store, with undo.

Gateways read the policy by version, so a change here is in effect at their next request.
A change's reason ends in `[run_id:step_id]`; a repeated call with the same key finds that
change in the history and does nothing more. Undo takes back exactly what the step
changed: list items it added, and any other field set to the value it would have had if the
step (and every step already undone) had never run, so that two incidents' playbooks on
one field undo to the start in either order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from firebreak.actions.base import Action, ActionContext, ActionResult, need
from firebreak.errors import ActionError
from firebreak.playbooks.durations import parse_duration
from firebreak.store.policy import (
    Block,
    GuardPolicy,
    RateLimit,
    Route,
    get_policy,
    policy_changes,
    set_policy,
    update_policy,
)

Change = Callable[[GuardPolicy], GuardPolicy]


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _expiry(params: dict[str, Any]) -> datetime | None:
    ttl = params.get("ttl")
    return None if ttl in (None, "") else datetime.now(UTC) + timedelta(
        seconds=parse_duration(ttl))


def revert(current: GuardPolicy, before: dict[str, Any], after: dict[str, Any]) -> GuardPolicy:
    """Undo exactly what one step changed (before -> after), keeping later edits: a field
    nobody touched since goes back as it was; a list field changed since only loses the
    items the step added (what the step removed stays removed: someone has decided since,
    e.g. a rolled-back bad version must not come back when its incident resolves)."""
    body = _body(current)
    for name, was in before.items():
        made = after.get(name)
        if made == was:
            continue
        now = body.get(name)
        if now == made:
            body[name] = was
        elif isinstance(was, list) and isinstance(made, list) and isinstance(now, list):
            body[name] = [x for x in now if x in was or x not in made]
    return GuardPolicy.model_validate({**body, "deployment": current.deployment})


UNDO = ":undo]"


def _tag(reason: str) -> str:
    """The `[run:step]` key a change's reason ends in ('' for a change made by hand)."""
    return reason[reason.rfind("["):] if reason.endswith("]") else ""


def replayed(history: list[dict[str, Any]], names: list[str], leave_out: str) -> dict[str, Any]:
    """The values fields `names` would have if step `leave_out` and every undone step had
    never run: the changes replayed oldest first, each live one that changed a field
    setting it.

    Two playbooks can set one field (strict mode, then block mode on top). Undoing them in
    either order must end where neither had run; comparing with the current value alone
    cannot, because the field holds the other step's value when the first undo comes.
    """
    undone = {t[:-len(UNDO)] + "]" for c in history if (t := _tag(c["reason"])).endswith(UNDO)}
    skip = undone | {leave_out}
    ordered = sorted(history, key=lambda c: c["id"])
    values = {n: ordered[0]["before"].get(n) for n in names} if ordered else {}
    for c in ordered:
        tag = _tag(c["reason"])
        if tag in skip or tag.endswith(UNDO):
            continue
        for n in names:
            if c["after"].get(n) != c["before"].get(n):
                values[n] = c["after"].get(n)
    return values


def _body(p: GuardPolicy) -> dict[str, Any]:
    return p.model_dump(mode="json", exclude={"deployment", "version", "updated_at"})


class GatewayAction(Action):
    """Shared run/undo: subclasses only say how the policy changes."""

    containment: ClassVar[bool] = True
    undoable: ClassVar[bool] = True

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        raise NotImplementedError

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        deployment = str(params.get("deployment") or ctx.incident.deployment)
        tag = f"[{ctx.key}]"
        done = self._already(ctx, deployment, tag)
        if done is not None:
            return done
        change = self.change(params, ctx)
        update_policy(ctx.db, deployment, change, actor=ctx.actor,
                      reason=f"{self.name} {tag}", incident_id=ctx.incident.id)
        done = self._already(ctx, deployment, tag)
        assert done is not None  # just written
        return done

    def _already(self, ctx: ActionContext, deployment: str, tag: str) -> ActionResult | None:
        for change in policy_changes(ctx.db, deployment=deployment,
                                     incident_id=ctx.incident.id):
            if change["reason"].endswith(tag):
                return self._result(deployment, change["before"], change["after"],
                                    change["version"])
        return None

    def _result(self, deployment: str, before: dict[str, Any], after: dict[str, Any],
                version: int) -> ActionResult:
        return ActionResult(ok=True, detail=f"{self.name}: guard policy of {deployment} "
                            f"is now version {version}", data={"version": version,
                                                               "deployment": deployment},
                            undo_data={"deployment": deployment, "before": before,
                                       "after": after})

    def undo(self, ctx: ActionContext, result: ActionResult) -> ActionResult:
        deployment = result.undo_data["deployment"]
        tag = f"[{ctx.key}]"
        for change in policy_changes(ctx.db, deployment=deployment,
                                     incident_id=ctx.incident.id):
            if change["reason"].endswith(tag):
                return ActionResult(ok=True, detail="already restored",
                                    data={"version": change["version"]})
        before, made = result.undo_data["before"], result.undo_data.get("after")
        if made is None:  # recorded by an older version: restore the whole body
            restored = GuardPolicy.model_validate({**before, "deployment": deployment})
            after = set_policy(ctx.db, restored, actor=ctx.actor,
                               reason=f"undo {self.name} {tag}", incident_id=ctx.incident.id)
        else:
            own = f"[{ctx.key.removesuffix(':undo')}]"

            def undo(p: GuardPolicy) -> GuardPolicy:
                # Read under the policy's write lock: a concurrent undo is already recorded.
                history = policy_changes(ctx.db, deployment=deployment, limit=1000)
                body = _body(revert(p, before, made))  # lists: item by item
                scalars = [n for n, was in before.items()
                           if made.get(n) != was and not isinstance(was, list)]
                body.update(replayed(history, scalars, own))
                return GuardPolicy.model_validate({**body, "deployment": deployment})

            after = update_policy(ctx.db, deployment, undo, actor=ctx.actor,
                                  reason=f"undo {self.name} {tag}", incident_id=ctx.incident.id)
        return ActionResult(ok=True, detail=f"restored guard policy of {deployment} "
                            f"(version {after.version})", data={"version": after.version})


class RouteAction(GatewayAction):
    """Send the deployment's traffic to another model version or upstream."""

    name = "gateway.route"

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        to, upstream = params.get("to"), params.get("upstream")
        if not to and not upstream:
            raise ActionError("parameter 'to' (model version) or 'upstream' is required",
                              field="to")

        def apply(p: GuardPolicy) -> GuardPolicy:
            p.routes = [Route(model=str(to) if to else None, upstream=upstream, weight=1.0)]
            return p
        return apply


class Throttle(GatewayAction):
    """Add a token-bucket rate limit (rate per second, burst) for a scope."""

    name = "gateway.throttle"

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        limit = RateLimit(scope=params.get("scope", "api_key"), key=str(params.get("key", "*")),
                          rate=float(need(params, "rate")),
                          burst=float(params.get("burst", 1)), expires_at=_expiry(params))

        def apply(p: GuardPolicy) -> GuardPolicy:
            p.rate_limits = [r for r in p.rate_limits
                             if (r.scope, r.key) != (limit.scope, limit.key)] + [limit]
            return p
        return apply


class BlockAction(GatewayAction):
    """Block API keys, users and/or client IPs (optionally for a ttl)."""

    name = "gateway.block"

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        targets = {f: _as_list(params.get(k)) for f, k in (
            ("blocked_api_keys", "api_keys"), ("blocked_users", "users"), ("blocked_ips", "ips"))}
        if not any(targets.values()):
            raise ActionError("nothing to block: give api_keys, users or ips", field="api_keys")
        reason, expires = str(params.get("reason", ctx.incident.id)), _expiry(params)

        def apply(p: GuardPolicy) -> GuardPolicy:
            for attr, values in targets.items():
                current: list[Block] = getattr(p, attr)
                have = {b.value for b in current}
                current.extend(Block(value=v, reason=reason, expires_at=expires)
                               for v in values if v not in have)
            return p
        return apply


class QuarantineSource(GatewayAction):
    """Stop retrieval from RAG sources (document sources) until released."""

    name = "gateway.quarantine_source"

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        sources = _as_list(params.get("sources", params.get("source")))
        if not sources:
            raise ActionError("parameter 'sources' is required", field="sources")
        expires = _expiry(params)

        def apply(p: GuardPolicy) -> GuardPolicy:
            have = {b.value for b in p.quarantined_sources}
            p.quarantined_sources.extend(Block(value=s, reason=ctx.incident.id,
                                               expires_at=expires)
                                         for s in sources if s not in have)
            return p
        return apply


class GuardMode(GatewayAction):
    """Set the scanners' mode: monitor, block or strict."""

    name = "gateway.guard_mode"

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        mode = need(params, "mode")
        if mode not in ("monitor", "block", "strict"):
            raise ActionError(f"mode must be monitor, block or strict, not {mode!r}",
                              field="mode")

        def apply(p: GuardPolicy) -> GuardPolicy:
            p.mode = mode
            return p
        return apply


class KillSwitch(GatewayAction):
    """Answer every request with the safe message instead of calling the model."""

    name = "gateway.kill_switch"

    def change(self, params: dict[str, Any], ctx: ActionContext) -> Change:
        on, message = bool(params.get("enabled", True)), params.get("message")

        def apply(p: GuardPolicy) -> GuardPolicy:
            p.kill_switch = on
            if message:
                p.safe_message = str(message)
            return p
        return apply


def current_body(ctx: ActionContext, deployment: str) -> dict[str, Any]:
    """The policy body in force now (tests compare it before and after undo)."""
    return _body(get_policy(ctx.db, deployment))
