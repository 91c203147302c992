"""Reading playbooks from folders of YAML, with the file, line and field of every error.

PyYAML's composer keeps the position of every node; we map each field path to its line so
that a pydantic error at `steps.2.with.ttl` points at the line where `ttl` is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from firebreak.config import Settings
from firebreak.errors import PlaybookValidation
from firebreak.playbooks.schema import Playbook
from firebreak.playbooks.templates import check_templates

BUILTIN_DIR = Path(__file__).parent / "builtin"


@dataclass(frozen=True)
class LoadError:
    """One problem in one file: where it is and what is wrong."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field or '(file)'}: {self.reason}"


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            _lines(value, sub, out)
            out[sub] = key.start_mark.line + 1  # point at the key, not its value
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, path + (i,), out)


MAX_NODES = 100_000  # YAML aliases may not expand a playbook past this (alias bombs)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the tree once every alias is expanded (shared nodes counted once each)."""
    if id(node) not in memo:
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        memo[id(node)] = min(MAX_NODES + 1, 1 + sum(_expanded_size(k, memo) for k in kids))
    return memo[id(node)]


def _line_of(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return 1


def parse(text: str, file: str) -> tuple[Playbook | None, list[LoadError]]:
    """Validate one playbook's YAML text; the playbook, or the errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [LoadError(file, mark.line + 1 if mark else 1, "",
                                f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict) or node is None:
        return None, [LoadError(file, 1, "", "a playbook is a mapping with name and steps")]
    if _expanded_size(node, {}) > MAX_NODES:
        return None, [LoadError(file, 1, "", f"YAML aliases expand to over {MAX_NODES} nodes")]
    lines: dict[tuple[Any, ...], int] = {}
    _lines(node, (), lines)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        return None, [LoadError(file, _line_of(tuple(e["loc"]), lines),
                                ".".join(str(p) for p in e["loc"]), e["msg"])
                      for e in exc.errors()]
    errors = [LoadError(file, _line_of(loc, lines), ".".join(map(str, loc)), reason)
              for loc, reason in _semantic_errors(playbook)]
    return (None if errors else playbook), errors


def _semantic_errors(playbook: Playbook) -> list[tuple[tuple[Any, ...], str]]:
    from firebreak.actions.catalog import exists

    errors: list[tuple[tuple[Any, ...], str]] = []
    for i, step in enumerate(playbook.steps):
        subs = [((i,), step)] + [((i, "parallel", j), s) for j, s in
                                 enumerate(step.parallel or [])]
        for prefix, sub in subs:
            loc = ("steps", *prefix)
            if sub.action and not exists(sub.action):
                errors.append((loc + ("action",), f"unknown action {sub.action!r}"))
            errors.extend((loc + tuple(where), reason) for where, reason in
                          check_templates(sub.with_, sub.when))
    return errors


def load_file(path: Path) -> Playbook:
    """One playbook file, or PlaybookValidation listing every error."""
    playbook, errors = parse(path.read_text(encoding="utf-8"), str(path))
    if playbook is None:
        raise PlaybookValidation("; ".join(map(str, errors)), errors=[str(e) for e in errors])
    return playbook


def load_dir(folder: Path) -> tuple[list[Playbook], list[LoadError]]:
    """Every *.yaml / *.yml playbook in `folder` (sorted by file name) and every error."""
    if not folder.is_dir():
        return [], [LoadError(str(folder), 0, "", "not a folder")]
    playbooks: list[Playbook] = []
    errors: list[LoadError] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        playbook, errs = parse(path.read_text(encoding="utf-8"), str(path))
        errors.extend(errs)
        if playbook is not None:
            playbooks.append(playbook)
    names = [p.name for p in playbooks]
    errors.extend(LoadError(str(folder), 0, "name", f"playbook name {n!r} is used twice")
                  for n in sorted({n for n in names if names.count(n) > 1}))
    return playbooks, errors


def load_configured(settings: Settings) -> tuple[list[Playbook], list[LoadError]]:
    """Built-ins (unless turned off), then each configured folder; a later playbook with
    the same name replaces an earlier one, so a user can override a built-in."""
    folders = ([BUILTIN_DIR] if settings.playbooks.builtin else []) + list(settings.playbooks.dirs)
    by_name: dict[str, Playbook] = {}
    errors: list[LoadError] = []
    for folder in folders:
        found, errs = load_dir(Path(folder))
        errors.extend(errs)
        by_name.update({p.name: p for p in found})
    return list(by_name.values()), errors
