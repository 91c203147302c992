"""Incident to regression: an incident's attack samples as a red-team suite (JSON lines).

Each line is {"id", "attack", "payload", "goal", "source_incident"}; `attack` names the
closest built-in red-team attack, `goal` is the string whose presence in an answer proves
the attack worked ("" when the incident did not show one; another scorer decides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from firebreak.events import LLMCall
from firebreak.forensics.case import load_case
from firebreak.store.db import Database

ATTACKS = {
    "injection": "direct-injection",
    "prompt_injection": "direct-injection",
    "jailbreak": "jailbreak-roleplay",
    "indirect_injection": "indirect-injection-document",
}


def attack_samples(
    db: Database, incident_id: str, window_seconds: int = 900
) -> list[dict[str, Any]]:
    """Distinct attack payloads seen in the incident's window, oldest first."""
    case = load_case(db, incident_id, window_seconds)
    seen: dict[str, dict[str, Any]] = {}
    for e in case.events:
        if not isinstance(e, LLMCall):
            continue
        for v in e.verdicts:
            if v.label not in ATTACKS or v.score < 0.5:
                continue
            payload = _payload(e, v.target, v.doc_id)
            if payload and payload not in seen:
                seen[payload] = {
                    "attack": ATTACKS[v.label],
                    "payload": payload,
                    "goal": str((e.attributes or {}).get("goal", "")),
                }
    return [
        {"id": f"{incident_id}-{i:04d}", **s, "source_incident": incident_id}
        for i, s in enumerate(seen.values(), 1)
    ]


def _payload(e: LLMCall, target: str, doc_id: str | None) -> str:
    if target == "chunk":
        return next((c.text for c in e.retrieved if doc_id is None or c.doc_id == doc_id), "")
    return "\n".join(m.content for m in e.messages if m.role == "user")


def export_regression_suite(db: Database, incident_id: str, path: str | Path) -> int:
    """Write the incident's attack samples to `path` as JSON lines; returns how many."""
    samples = attack_samples(db, incident_id)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in samples))
    return len(samples)
