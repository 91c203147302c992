"""Undo reverts exactly what a step changed and keeps later, unrelated policy edits."""

from __future__ import annotations

from firebreak.actions.gateway import _body, revert
from firebreak.store.policy import Block, GuardPolicy, Route


def test_undo_keeps_later_unrelated_edits() -> None:
    before = GuardPolicy(deployment="bot")
    step = before.model_copy(deep=True)
    step.blocked_api_keys.append(Block(value="key-evil"))
    step.mode = "strict"
    # Later, someone else deploys a new route and blocks another key.
    later = step.model_copy(deep=True)
    later.routes = [Route(model="v2", upstream="http://v2")]
    later.blocked_api_keys.append(Block(value="key-other"))
    undone = revert(later, _body(before), _body(step))
    assert [b.value for b in undone.blocked_api_keys] == ["key-other"]
    assert undone.mode == "monitor"
    assert undone.routes == [Route(model="v2", upstream="http://v2")]


def test_undo_does_not_clobber_a_field_changed_since() -> None:
    before = GuardPolicy(deployment="bot")
    step = before.model_copy(update={"mode": "strict"})
    later = step.model_copy(update={"mode": "block"})  # an operator chose block meanwhile
    assert revert(later, _body(before), _body(step)).mode == "block"


def test_undo_of_a_rollback_does_not_bring_back_a_version_removed_since() -> None:
    bad = GuardPolicy(deployment="bot", routes=[Route(model="v2-bad", upstream="http://v2")])
    rollback = bad.model_copy(update={"routes": [Route(model="v1")]})
    healed = rollback.model_copy(update={"routes": []})  # the bad version is withdrawn
    assert revert(healed, _body(bad), _body(rollback)).routes == []
    # Untouched since: undo puts the step's removal back exactly.
    assert revert(rollback, _body(bad), _body(rollback)).routes == bad.routes
