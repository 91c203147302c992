"""The action contract: `run(ctx, params) -> ActionResult` and an optional `undo`.

The engine calls an action with an idempotency key `(run_id, step_id)` in `ctx.key`, after
recording its intent and before recording its outcome. A crash between the two makes the
engine call `run` again with the same key, so an action must make a repeated call with the
same key have no further effect (look the key up where the effect lives, or pass it to the
receiver as an Idempotency-Key).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from firebreak.config import Settings
from firebreak.errors import ActionError
from firebreak.store.db import Database
from firebreak.store.incidents import Incident


class ActionResult(BaseModel):
    """What an action did. `detail` is recorded (never put secrets in it); `undo_data`
    is what `undo` needs to restore the previous state exactly."""

    ok: bool
    recoverable: bool = False
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    undo_data: dict[str, Any] = Field(default_factory=dict)
    follow_ups: list[str] = Field(default_factory=list, description="step ids worth running")


@dataclass
class ActionContext:
    """What an action may use: the store, settings, the incident, and its idempotency key."""

    db: Database
    settings: Settings
    incident: Incident
    deployment: dict[str, Any]
    run_id: str
    step_id: str
    dry_run: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The idempotency key `run_id:step_id` (the step id ends in `:undo` for undo)."""
        return f"{self.run_id}:{self.step_id}"

    @property
    def actor(self) -> str:
        return f"playbook:{self.run_id}/{self.step_id}"


class Action:
    """Base for actions. Subclasses set `name`, `containment`, and implement `run`."""

    name: ClassVar[str] = ""
    containment: ClassVar[bool] = False  # success moves the incident to 'contained'
    undoable: ClassVar[bool] = False

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        raise NotImplementedError

    def undo(self, ctx: ActionContext, result: ActionResult) -> ActionResult:
        raise ActionError(f"{self.name} has no undo", recoverable=False)


def resolve_secret(ref: str, settings: Settings) -> str:
    """The value behind `secret:NAME`: env FIREBREAK_SECRET_<NAME>, or a file NAME in
    <data_dir>/secrets or /run/secrets. Never log the result."""
    name = ref.removeprefix("secret:")
    env_name = name.upper().replace("-", "_").replace(".", "_")
    if not name or "/" in name or name.startswith("."):
        raise ActionError(f"bad secret name {name!r}", recoverable=False)
    if f"FIREBREAK_SECRET_{env_name}" in os.environ:
        return os.environ[f"FIREBREAK_SECRET_{env_name}"]
    for folder in (settings.data_dir / "secrets", Path("/run/secrets")):
        path = folder / name
        if path.is_file():
            return path.read_text().strip()
    raise ActionError(f"secret {name!r} is not set (env FIREBREAK_SECRET_{env_name} or a "
                      f"file {name} in {settings.data_dir / 'secrets'})", recoverable=False)


def with_secrets(params: Any, settings: Settings) -> Any:
    """A copy of `params` with every `secret:NAME` string replaced by its value."""
    if isinstance(params, str):
        return resolve_secret(params, settings) if params.startswith("secret:") else params
    if isinstance(params, dict):
        return {k: with_secrets(v, settings) for k, v in params.items()}
    if isinstance(params, list):
        return [with_secrets(v, settings) for v in params]
    return params


def need(params: dict[str, Any], name: str) -> Any:
    """A required parameter, or a non-recoverable ActionError naming it."""
    if name not in params or params[name] in (None, ""):
        raise ActionError(f"parameter {name!r} is required", recoverable=False, field=name)
    return params[name]
