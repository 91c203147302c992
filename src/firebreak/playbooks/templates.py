"""Jinja2 templates in step parameters, rendered in the immutable sandbox.

The only names a template sees are `incident`, `deployment` and `facts` (plain data).
A parameter that is exactly one `{{ expression }}` keeps the expression's type (a list
stays a list); anything else renders to a string. `secret:NAME` references are never
templates: they are kept as written and resolved only when the action is called, so their
values never reach a template, a log line or the timeline. A template that produces a
`secret:` string is refused, so incident data cannot choose which secret is read.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from firebreak.errors import PlaybookError

_SINGLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def scope(incident: dict[str, Any], deployment: dict[str, Any]) -> dict[str, Any]:
    """The template inputs: the incident, its deployment, and the incident's facts."""
    return {"incident": incident, "deployment": deployment,
            "facts": incident.get("facts") or {}}


def _render_str(value: str, inputs: dict[str, Any], where: str) -> Any:
    if not is_template(value):
        return value
    env = environment()
    try:
        single = _SINGLE.match(value)
        if single and "}}" not in single.group(1):
            result = env.compile_expression(single.group(1), undefined_to_none=False)(**inputs)
        else:
            result = env.from_string(value).render(**inputs)
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # Sandbox limits (OverflowError), 1/0, bad indexing: all the template's fault.
        raise PlaybookError(f"{where}: template failed: {exc}", field=where) from exc
    if isinstance(result, str) and result.strip().startswith("secret:"):
        raise PlaybookError(f"{where}: a template may not produce a secret reference",
                            field=where)
    return result


def render(params: Any, inputs: dict[str, Any], where: str = "with") -> Any:
    """`params` with every template string rendered (recursively)."""
    if isinstance(params, str):
        return _render_str(params, inputs, where)
    if isinstance(params, dict):
        return {k: render(v, inputs, f"{where}.{k}") for k, v in params.items()}
    if isinstance(params, list):
        return [render(v, inputs, f"{where}.{i}") for i, v in enumerate(params)]
    return params


def evaluate(expression: str, inputs: dict[str, Any]) -> bool:
    """The truth of a `when` expression (written with or without {{ }})."""
    single = _SINGLE.match(expression)
    source = single.group(1) if single else expression
    try:
        return bool(environment().compile_expression(source, undefined_to_none=False)(**inputs))
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise PlaybookError(f"when: {exc}", field="when") from exc


def check_templates(params: Any, when: str | None) -> list[tuple[list[Any], str]]:
    """Syntax errors in a step's templates as ([field path], reason)."""
    errors: list[tuple[list[Any], str]] = []
    env = environment()

    def walk(value: Any, path: list[Any]) -> None:
        if isinstance(value, str) and is_template(value):
            try:
                env.parse(value)
            except TemplateError as exc:
                errors.append((path, f"template syntax: {exc}"))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, [*path, k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, [*path, i])

    walk(params, ["with"])
    if when:
        single = _SINGLE.match(when)
        try:
            env.compile_expression(single.group(1) if single else when)
        except TemplateError as exc:
            errors.append((["when"], f"expression syntax: {exc}"))
    return errors
