"""The playbook schema (pydantic), also exported as JSON Schema for editor completion.

Regenerate docs/playbook.schema.json with `python -m firebreak.playbooks.schema`; a test
fails when the committed file is not current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from firebreak.playbooks.durations import PATTERN, parse_duration

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
SLUG = r"^[a-z0-9][a-z0-9_.-]*$"

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0},
                              {"type": "string", "pattern": PATTERN}],
                    "description": "seconds, or a string like 30s, 15m, 1h, 2d"}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Retry(_Model):
    """Try a failed step again: `count` more times, waiting `backoff`, doubling each time."""

    count: int = Field(0, ge=0, le=20)
    backoff: Duration = Field(1.0, description="first wait; doubles per attempt")
    max_backoff: Duration = Field(60.0, description="longest single wait")


class Approval(_Model):
    """Wait for a person with `role` to approve before going on."""

    role: str = Field(min_length=1, description="who may approve (shown in the request)")
    timeout: Duration = Field(900.0, description="how long to wait for a decision")
    on_timeout: Literal["proceed", "abort"] = "abort"
    notify: list[str] = Field(default_factory=list,
                              description="notifiers that get the signed approval link")


class Goto(_Model):
    """Run another step (by id) after this one fails."""

    goto: str


class Step(_Model):
    """One step: exactly one of `action`, `approval` or `parallel`."""

    id: str = Field(pattern=SLUG, max_length=100)
    action: str | None = Field(None, description="action name, e.g. gateway.block")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with",
                                  description="parameters; strings may be Jinja2 templates "
                                  "or secret:NAME references")
    when: str | None = Field(None, description="Jinja2 expression; the step runs when true")
    retry: Retry = Field(default_factory=Retry)
    timeout: Duration = Field(60.0, description="longest one attempt may take")
    on_failure: Literal["continue", "abort"] | Goto = "abort"
    approval: Approval | None = None
    parallel: list[Step] | None = Field(None, description="steps run at the same time")
    undo: bool = Field(True, description="compensate this step when the run is undone")
    containment: bool | None = Field(None, description="success marks the incident contained "
                                     "(default: the action's own flag)")

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in ("action", "approval", "parallel") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("a step needs exactly one of action, approval or parallel"
                             + (f" (has {', '.join(kinds)})" if kinds else ""))
        for sub in self.parallel or []:
            if sub.parallel:
                raise ValueError(f"parallel step {sub.id!r} cannot hold another parallel group")
        return self


class Match(_Model):
    """Which incidents a playbook answers. Empty fields match everything."""

    category: str | list[str] | None = Field(None, description="taxonomy slug(s) or *")
    severity: Severity | list[Severity] | None = None
    deployment: str | list[str] | None = Field(None, description="deployment name(s) or *")
    labels: dict[str, str] = Field(default_factory=dict,
                                   description="deployment labels that must all be equal")


class Playbook(_Model):
    """A declarative response plan matched to incidents."""

    name: str = Field(pattern=SLUG, max_length=200)
    description: str = ""
    priority: int = Field(100, description="lower runs first among matching playbooks")
    exclusive: bool = Field(False, description="when it matches, lower-priority ones do not run")
    enabled: bool = True
    dry_run: bool = Field(False, description="record what would happen; act on nothing")
    match: Match = Field(default_factory=Match)
    steps: list[Step] = Field(min_length=1)
    on_resolve: Literal["undo", "keep"] = Field("keep", description="undo: compensate "
                                                "containment in reverse order on resolve")

    @model_validator(mode="after")
    def _ids(self) -> Playbook:
        seen: set[str] = set()
        for step in self.all_steps():
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        top = {s.id for s in self.steps}
        for step in self.all_steps():
            if isinstance(step.on_failure, Goto) and step.on_failure.goto not in top:
                raise ValueError(f"step {step.id!r}: on_failure goto {step.on_failure.goto!r} "
                                 "is not a top-level step id")
        return self

    def all_steps(self) -> list[Step]:
        """Every step, including those inside parallel groups, in file order."""
        out: list[Step] = []
        for step in self.steps:
            out.append(step)
            out.extend(step.parallel or [])
        return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook file."""
    schema = Playbook.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Firebreak playbook"
    return schema


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m firebreak.playbooks.schema [PATH]
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/playbook.schema.json")
    out.write_text(render_schema())
    print(f"wrote {out}")
