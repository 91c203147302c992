"""The playbook YAML loader under random input, and Jinja2 template injection.

Templates are written by whoever edits playbooks, and they read incident data that an
attacker can partly choose (prompts, API keys, document ids). Known sandbox-escape
payloads must be refused (a PlaybookError naming the field) or render inert; incident
data must never be evaluated as a template.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from firebreak.errors import PlaybookError
from firebreak.playbooks.loader import parse
from firebreak.playbooks.templates import check_templates, evaluate, render, scope

BOUNDED = settings(settings.get_profile("hardening"), max_examples=40)
GOOD = """name: fuzz
match: {category: prompt_injection}
steps:
  - {id: block, action: gateway.block, with: {api_keys: "{{ facts.top_api_keys }}"}}
"""


@BOUNDED
@given(st.text(max_size=400))
def test_loader_on_random_text_returns_errors_never_raises(text: str) -> None:
    playbook, errors = parse(text, "fuzz.yaml")
    assert (playbook is None) == bool(errors)
    for err in errors:
        assert err.line >= 1 and err.reason


@BOUNDED
@given(st.integers(0, len(GOOD) - 1), st.characters(blacklist_categories=("Cs",)))
def test_loader_on_mutated_playbook(pos: int, char: str) -> None:
    text = GOOD[:pos] + char + GOOD[pos + 1:]
    playbook, errors = parse(text, "fuzz.yaml")
    assert (playbook is None) == bool(errors)
    assert all(e.reason for e in errors)


def test_the_unmutated_playbook_loads() -> None:
    playbook, errors = parse(GOOD, "fuzz.yaml")
    assert playbook is not None and errors == []


def test_yaml_alias_bomb_is_cheap() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    bomb += "name: bomb\nsteps: *i\n"
    start = time.perf_counter()
    playbook, errors = parse(bomb, "bomb.yaml")
    assert playbook is None and errors
    assert time.perf_counter() - start < 5


PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__()[0] }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__['os'].system('touch /tmp/pwned') }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ incident.__class__.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ facts.update({'owned': 1}) }}",
    "{{ incident.facts.clear() }}",
    "{{ range(10**9) | list | length }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ 'secret:slack' }}",
    "{% import 'os' as os %}{{ os }}",
    "{% include '/etc/passwd' %}",
    "{{ namespace.__init__.__globals__ }}",
]


def _inputs() -> dict[str, Any]:
    incident = {"id": "inc-1", "facts": {"top_api_keys": ["k1"]}, "category": "x"}
    return scope(incident, {"name": "support-bot", "previous_version": "v1"})


@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_injection_payloads_are_refused_or_inert(payload: str) -> None:
    inputs = _inputs()
    try:
        out = render({"x": payload}, inputs)
    except PlaybookError as exc:
        assert exc.fields.get("field", "").startswith("with") and exc.message
    else:
        text = repr(out)
        for leak in ("<class", "__globals__", "uid=", "root:", "function", "module"):
            assert leak not in text
    assert inputs["facts"] == {"top_api_keys": ["k1"]}  # nothing mutated


@pytest.mark.parametrize("payload", PAYLOADS[:6])
def test_payloads_in_when_are_refused_or_false(payload: str) -> None:
    try:
        evaluate(payload, _inputs())
    except PlaybookError as exc:
        assert exc.fields.get("field") == "when"


def test_incident_data_is_never_evaluated_as_a_template() -> None:
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }} {{ 7*7 }}"
    inputs = scope({"id": "inc-1", "facts": {"prompt": evil}}, {"name": evil})
    assert render("{{ facts.prompt }}", inputs) == evil
    assert render("said: {{ deployment.name }}", inputs) == "said: " + evil


def test_a_template_cannot_choose_a_secret() -> None:
    inputs = scope({"facts": {"name": "secret:pagerduty"}}, {})
    with pytest.raises(PlaybookError):
        render({"to": "{{ facts.name }}"}, inputs)


def test_syntax_errors_are_named_at_load_time() -> None:
    errors = check_templates({"x": "{{ incident.id "}, "{{ (")
    assert {tuple(p) for p, _ in errors} == {("with", "x"), ("when",)}


def test_a_playbook_with_an_escape_payload_never_runs_it() -> None:
    doc = yaml.safe_load(GOOD)
    doc["steps"][0]["with"]["api_keys"] = PAYLOADS[0]
    playbook, errors = parse(yaml.safe_dump(doc), "evil.yaml")
    assert playbook is not None, errors  # syntactically fine: refused when it renders
    with pytest.raises(PlaybookError):
        render(playbook.steps[0].with_, _inputs())
