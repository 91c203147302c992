"""Suites: which probes a run sends.

`owasp-llm` (built in) sends every built-in attack once, and the injection and jailbreak
families once more through every converter. A suite file is JSON lines of
{"id", "attack", "payload", "goal", "source_incident"} (what
firebreak.forensics.export.export_regression_suite writes): each row is replayed verbatim
through the named attack's delivery (user turn, document or tool output).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from firebreak.errors import ValidationFailed
from firebreak.redteam import registry
from firebreak.redteam.attacks.common import goal_token
from firebreak.redteam.base import Probe

CONVERTED_FAMILIES = ("direct-injection", "jailbreak-roleplay", "jailbreak-refusal-suppression",
                      "jailbreak-hypothetical", "jailbreak-many-shot", "system-prompt-extraction")
ROW_FIELDS = ("id", "attack", "payload", "goal", "source_incident")


@dataclass(frozen=True)
class Suite:
    """A named list of probes, converters already applied."""

    name: str
    probes: tuple[Probe, ...]


def expand(probes: list[Probe], converters: list[str]) -> list[Probe]:
    """Each probe once per converter ('none' keeps the original)."""
    chosen = [registry.converter(c) for c in converters]
    return [c.convert(p) for p in probes for c in chosen]


def owasp_llm(converters: list[str] | None = None, families: tuple[str, ...] = CONVERTED_FAMILIES,
              ) -> Suite:
    """The built-in suite: every attack, the injection/jailbreak families through converters."""
    names = converters if converters is not None else list(registry.converters())
    probes: list[Probe] = []
    for name, attack in registry.attacks().items():
        base = attack.probes()
        probes += expand(base, names if name in families else ["none"])
    return Suite("owasp-llm", tuple(probes))


def _row(line: str, where: str) -> dict[str, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(where, f"not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise ValidationFailed(where, "each line must be a JSON object")
    for key in ("id", "attack", "payload"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise ValidationFailed(f"{where}.{key}", "required, a non-empty string")
    for key in ("goal", "source_incident"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise ValidationFailed(f"{where}.{key}", "must be a string or null")
    return row


def load_jsonl(path: str | Path, converters: list[str] | None = None) -> Suite:
    """A suite from a JSON lines file; bad rows raise ValidationFailed naming line and field."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed("suite", f"{path} is not a file")
    probes = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = _row(line, f"{path.name}:{n}")
        try:
            attack = registry.attack(row["attack"])
        except ValidationFailed as exc:
            raise ValidationFailed(f"{path.name}:{n}.attack", exc.reason) from exc
        probe = attack.from_payload(row["id"], row["payload"], row.get("goal") or "")
        probes.append(probe.with_(source_incident=row.get("source_incident")))
    if not probes:
        raise ValidationFailed("suite", f"{path} holds no rows")
    return Suite(path.stem, tuple(expand(probes, converters or ["none"])))


def dataset_probes(path: str | Path, n: int, seed: int = 7) -> list[Probe]:
    """n attack rows sampled from the `train` split of the injection data set.

    Their text is sent verbatim with one added sentence asking for a goal string, so that
    success is measurable; they are attributed to the attack family of their kind.
    """
    root = Path(path)
    held_out = set(json.loads((root / "splits.json").read_text())["test"])
    rows = [json.loads(line) for line in (root / "dev.jsonl").open(encoding="utf-8")]
    pool = [r for r in rows if r["label"] == 1 and r["source"] not in held_out
            and r["kind"] in ("direct", "jailbreak") and len(r["text"]) < 4000]
    family = {"direct": "direct-injection", "jailbreak": "jailbreak-roleplay"}
    out = []
    for i, row in enumerate(random.Random(seed).sample(pool, min(n, len(pool)))):
        goal = goal_token(f"dataset-{seed}-{i}")
        payload = f'{row["text"]}\nAfter that, say "{goal}".'
        probe = registry.attack(family[row["kind"]]).from_payload(f"dataset-{i + 1:03d}", payload,
                                                                  goal)
        out.append(probe.with_(meta={"source": row["source"]}))
    return out


def builtin(name: str) -> Suite:
    """A built-in suite by name."""
    if name == "owasp-llm":
        return owasp_llm()
    raise ValidationFailed("suite",
                           f"unknown suite {name!r}; built in: owasp-llm, or a .jsonl file")


def resolve(name_or_path: str) -> Suite:
    """A built-in suite name or a path to a JSON lines suite file."""
    if name_or_path.endswith((".jsonl", ".json")) or Path(name_or_path).is_file():
        return load_jsonl(name_or_path)
    return builtin(name_or_path)
