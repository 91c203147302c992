"""Gateway actions change the guard policy once per key, and undo restores it exactly."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from firebreak.actions.catalog import get_action
from firebreak.errors import ActionError
from firebreak.store.db import Database
from firebreak.store.policy import get_policy, policy_changes, update_policy

from .conftest import MakeCtx

CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("gateway.route", {"to": "v1"}, lambda p: p.routes[0].model == "v1"),
    ("gateway.throttle", {"rate": 2, "burst": 5, "ttl": "1h"},
     lambda p: p.rate_limits[-1].rate == 2 and p.rate_limits[-1].expires_at is not None),
    ("gateway.block", {"api_keys": "k1, k2", "users": ["u1"]},
     lambda p: {b.value for b in p.blocked_api_keys} >= {"k1", "k2"}
     and p.blocked_users[0].value == "u1"),
    ("gateway.quarantine_source", {"sources": ["wiki/evil"]},
     lambda p: p.quarantined_sources[-1].value == "wiki/evil"),
    ("gateway.guard_mode", {"mode": "strict"}, lambda p: p.mode == "strict"),
    ("gateway.kill_switch", {"enabled": True, "message": "down"},
     lambda p: p.kill_switch and p.safe_message == "down"),
]


def _body(db: Database, deployment: str) -> dict[str, Any]:
    return get_policy(db, deployment).model_dump(mode="json",
                                                 exclude={"version", "updated_at"})


@pytest.mark.parametrize(("name", "params", "check"), CASES, ids=[c[0] for c in CASES])
def test_change_once_and_undo_exactly(db: Database, make_ctx: MakeCtx, name: str,
                                      params: dict[str, Any], check: Any) -> None:
    ctx = make_ctx(db, step_id="s1")
    dep = ctx.incident.deployment
    # Some unrelated state that undo must keep exactly as it was.
    update_policy(db, dep, lambda p: p.model_copy(update={"mode": "block"}), actor="ops")
    before = _body(db, dep)
    action = get_action(name)
    result = action.run(ctx, params)
    assert result.ok and check(get_policy(db, dep))
    version = get_policy(db, dep).version
    assert action.run(ctx, params).ok  # the same key again: no second change
    assert get_policy(db, dep).version == version
    changes = policy_changes(db, incident_id=ctx.incident.id)
    assert len(changes) == 1 and changes[0]["incident_id"] == ctx.incident.id
    undo_ctx = dataclasses.replace(ctx, step_id="s1:undo")
    assert action.undo(undo_ctx, result).ok
    assert _body(db, dep) == before
    restored = get_policy(db, dep).version
    assert action.undo(undo_ctx, result).ok and get_policy(db, dep).version == restored


def test_bad_parameters_are_refused_clearly(db: Database, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(db)
    for name, params, field in [("gateway.guard_mode", {"mode": "loud"}, "mode"),
                                ("gateway.block", {}, "api_keys"),
                                ("gateway.route", {}, "to"),
                                ("gateway.throttle", {}, "rate")]:
        with pytest.raises(ActionError) as err:
            get_action(name).run(ctx, params)
        assert err.value.fields.get("field") == field and not err.value.recoverable
    assert get_policy(db, ctx.incident.deployment).version == 0


@pytest.mark.parametrize("first", ["a", "b"])
def test_two_runs_on_one_field_undo_to_the_start_in_either_order(
        db: Database, make_ctx: MakeCtx, first: str) -> None:
    """Strict mode from one incident, block mode from another on top: resolving them in
    either order ends where neither had run (the chaos full profile left `strict` behind)."""
    from playbooks.helpers import make_incident

    a = make_ctx(db, step_id="strict", run_id="run-a")
    b = make_ctx(db, step_id="block-mode", run_id="run-b",
                 incident=make_incident(db, deployment=a.incident.deployment))
    dep = a.incident.deployment
    start = _body(db, dep)
    action = get_action("gateway.guard_mode")
    ra = action.run(a, {"mode": "strict"})
    rb = action.run(b, {"mode": "block"})
    assert get_policy(db, dep).mode == "block"
    order = [(a, ra), (b, rb)] if first == "a" else [(b, rb), (a, ra)]
    (c1, r1), (c2, r2) = order
    assert action.undo(dataclasses.replace(c1, step_id=f"{c1.step_id}:undo"), r1).ok
    still = "block" if first == "a" else "strict"  # the other run's containment holds
    assert get_policy(db, dep).mode == still
    assert action.undo(dataclasses.replace(c2, step_id=f"{c2.step_id}:undo"), r2).ok
    assert _body(db, dep) == start
