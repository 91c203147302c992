"""Reports of a run: a JSON document and a self-contained HTML page (inline CSS and SVG).

The JSON shape (version 1): {version, suite, target, started, seconds, summary,
per_attack, per_converter, findings, attempts}. `summary.success_rate` counts attack
attempts only; benign probes report `benign_pass_rate` instead.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import orjson

from firebreak.redteam.runner import Attempt, RunResult
from firebreak.redteam.taxonomy import label

OBFUSCATION = "AML.T0068"
TEXT_LIMIT = 1500


def _rate(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


def _group(attempts: list[Attempt], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        groups[getattr(a.probe, key)].append(a)
    out = {}
    for name, items in sorted(groups.items()):
        wins = sum(a.succeeded for a in items)
        out[name] = {"attempts": len(items), "successes": wins,
                     "success_rate": _rate(wins, len(items)),
                     "blocked": sum(a.outcome == "blocked" for a in items),
                     "errors": sum(a.outcome == "error" for a in items)}
    return out


def transcript(a: Attempt) -> dict[str, Any]:
    """One attempt as plain data (long texts cut to TEXT_LIMIT characters)."""
    p, r = a.probe, a.response
    return {"id": p.id, "attack": p.attack, "converter": p.converter, "outcome": a.outcome,
            "reason": a.reason, "status": r.status, "latency_ms": round(r.latency_ms, 2),
            "goal": p.goal, "source_incident": p.source_incident,
            "messages": [{"role": m["role"], "content": (m.get("content") or "")[:TEXT_LIMIT]}
                         for m in a.messages],
            "response": (r.text or r.error or "")[:TEXT_LIMIT],
            "tool_calls": [c.name for c in r.tool_calls],
            "scores": [{"scorer": s.scorer, "hit": s.hit, "reason": s.reason,
                        "available": s.available} for s in a.scores]}


def _taxa(items: list[Attempt]) -> tuple[list[str], list[str]]:
    owasp = sorted({t for a in items for t in a.probe.owasp})
    atlas = {t for a in items for t in a.probe.atlas}
    if any(a.probe.converter not in ("none", "multi-turn") for a in items):
        atlas.add(OBFUSCATION)
    return owasp, sorted(atlas)


def findings(attacks: list[Attempt]) -> list[dict[str, Any]]:
    """One finding per attack that succeeded at least once, worst first."""
    by_attack: dict[str, list[Attempt]] = defaultdict(list)
    for a in attacks:
        by_attack[a.probe.attack].append(a)
    out = []
    for name, items in by_attack.items():
        wins = [a for a in items if a.succeeded]
        if not wins:
            continue
        rate = _rate(len(wins), len(items))
        owasp, atlas = _taxa(wins)
        out.append({"attack": name, "successes": len(wins), "attempts": len(items),
                    "success_rate": rate,
                    "severity": "high" if rate >= 0.5 else "medium" if rate >= 0.1 else "low",
                    "owasp": [label(t) for t in owasp], "atlas": [label(t) for t in atlas],
                    "converters": sorted({a.probe.converter for a in wins}),
                    "example": transcript(wins[0])})
    return sorted(out, key=lambda f: (-f["success_rate"], f["attack"]))


def summarise(result: RunResult) -> dict[str, Any]:
    """The JSON report of a run."""
    attacks = [a for a in result.attempts if not a.probe.benign]
    benign = [a for a in result.attempts if a.probe.benign]
    wins = sum(a.succeeded for a in attacks)
    passed = sum(a.succeeded for a in benign)
    summary = {"attempts": len(result.attempts), "attack_attempts": len(attacks),
               "successes": wins, "success_rate": _rate(wins, len(attacks)),
               "blocked": sum(a.outcome == "blocked" for a in attacks),
               "errors": sum(a.outcome == "error" for a in result.attempts),
               "benign_attempts": len(benign), "benign_passed": passed,
               "benign_pass_rate": _rate(passed, len(benign)) if benign else None}
    return {"version": 1, "suite": result.suite, "target": result.target,
            "started": result.started, "seconds": round(result.seconds, 3), "summary": summary,
            "per_attack": _group(attacks, "attack"), "per_converter": _group(attacks, "converter"),
            "benign": _group(benign, "attack"), "findings": findings(attacks),
            "attempts": [transcript(a) for a in result.attempts]}


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    source = resources.files("firebreak.redteam").joinpath("templates/report.html.j2")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env.from_string(source.read_text("utf-8"))


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page for a JSON report (no external assets)."""
    return _template().render(r=report)


def write(report: dict[str, Any], *, json_out: str | Path | None = None,
          html_out: str | Path | None = None) -> None:
    """Write the JSON and/or HTML report files."""
    if json_out:
        Path(json_out).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    if html_out:
        Path(html_out).write_text(render_html(report), "utf-8")
