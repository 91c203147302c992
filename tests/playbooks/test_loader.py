"""Schema export, loading with file/line/field errors, built-ins, matching order."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from firebreak.cli import app
from firebreak.playbooks import matcher
from firebreak.playbooks.loader import BUILTIN_DIR, load_dir, parse
from firebreak.playbooks.schema import render_schema

from .helpers import playbook

ROOT = Path(__file__).resolve().parents[2]

BAD = """name: bad
steps:
  - id: ok
    action: gateway.guard_mode
    with: {mode: strict}
  - id: broken
    action: gateway.block
    retry:
      count: many
  - id: typo
    action: gateway.blok
  - id: tmpl
    action: http.request
    with: {url: "{{ incident.id "}
"""


def test_json_schema_in_docs_is_current() -> None:
    assert (ROOT / "docs/playbook.schema.json").read_text() == render_schema(), (
        "regenerate with: python -m firebreak.playbooks.schema")


def test_errors_name_file_line_and_field() -> None:
    pb, errors = parse(BAD, "bad.yaml")
    assert pb is None
    assert [str(e) for e in errors] == [
        "bad.yaml:9: steps.1.retry.count: Input should be a valid integer, unable to parse "
        "string as an integer"]
    fixed = BAD.replace("count: many", "count: 2")
    _, errors = parse(fixed, "bad.yaml")
    found = {(e.line, e.field) for e in errors}
    assert (11, "steps.2.action") in found
    assert (14, "steps.3.with.url") in found


def test_structural_errors_are_reported() -> None:
    cases = {
        "name: x\nsteps: [{id: a}]\n": "exactly one of action, approval or parallel",
        "name: x\nsteps: [{id: a, action: shell}, {id: a, action: shell}]\n": "used twice",
        "name: x\nsteps: [{id: a, action: shell, on_failure: {goto: zz}}]\n": "goto 'zz'",
        "name: x\nsteps:\n  - {id: a, action: shell, timeout: soon}\n": "not a duration",
        "name: x\nsteps: [\n": "not valid YAML",
        "- just a list\n": "a playbook is a mapping",
    }
    for text, reason in cases.items():
        _, errors = parse(text, "f.yaml")
        assert errors and reason in errors[0].reason, (text, errors)
    _, errors = parse("name: x\nsteps:\n  - {id: a, action: shell, timeout: soon}\n", "f.yaml")
    assert (errors[0].line, errors[0].field) == (3, "steps.0.timeout")


def test_builtin_playbooks_cover_every_taxonomy_category() -> None:
    from firebreak.incidents import taxonomy

    categories = set(yaml.safe_load(Path(taxonomy.__file__).with_name("taxonomy.yaml")
                                    .read_text()))
    found, errors = load_dir(BUILTIN_DIR)
    assert errors == []
    covered = {p.match.category for p in found}
    assert covered == categories
    assert len(found) == len(categories)


def test_matching_order_and_exclusivity() -> None:
    a = playbook("name: a\npriority: 50\nmatch: {category: [x, y]}\n"
                 "steps: [{id: s, action: shell}]")
    b = playbook("name: b\nmatch: {category: '*', severity: [SEV1]}\n"
                 "steps: [{id: s, action: shell}]")
    c = playbook("name: c\nmatch: {labels: {tier: prod}}\nsteps: [{id: s, action: shell}]")
    ex = playbook("name: ex\npriority: 10\nexclusive: true\nmatch: {deployment: vip}\n"
                  "steps: [{id: s, action: shell}]")
    pbs = [c, b, a, ex]
    pick = lambda **kw: [p.name for p in matcher.select(pbs, **kw)]  # noqa: E731
    base = {"category": "x", "severity": "SEV1", "deployment": "d", "labels": {"tier": "prod"}}
    assert pick(**base) == ["a", "b", "c"]
    assert pick(**{**base, "severity": "SEV3", "labels": {}}) == ["a"]
    assert pick(**{**base, "deployment": "vip"}) == ["ex"]


def test_cli_validate_prints_errors_and_fails(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    result = CliRunner().invoke(app, ["playbook", "validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml:9: steps.1.retry.count" in result.output
    ok = CliRunner().invoke(app, ["playbook", "validate", str(BUILTIN_DIR)])
    assert ok.exit_code == 0 and "15 playbooks valid" in ok.output


def test_cli_test_shows_the_steps(tmp_path: Path) -> None:
    fixture = tmp_path / "incident.json"
    fixture.write_text('{"category": "prompt_injection", "severity": "SEV1", '
                       '"deployment": "chat", "facts": {"top_api_keys": "k1,k2"}}')
    result = CliRunner().invoke(app, ["playbook", "test",
                                      str(BUILTIN_DIR / "contain-prompt-injection.yaml"),
                                      "--incident", str(fixture)])
    assert result.exit_code == 0, result.output
    assert "matches prompt_injection/SEV1" in result.output
    assert 'block-keys: gateway.block {"api_keys": "k1,k2"' in result.output
    assert "strict: gateway.guard_mode" in result.output
    fixture.write_text('{"severity": "SEV9"}')
    bad = CliRunner().invoke(app, ["playbook", "test",
                                   str(BUILTIN_DIR / "contain-prompt-injection.yaml"),
                                   "--incident", str(fixture)])
    assert bad.exit_code != 0
