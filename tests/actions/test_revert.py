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
