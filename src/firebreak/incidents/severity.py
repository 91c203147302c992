"""The severity rubric (docs/severity.md): points for impact, then per-deployment overrides.

Points: security +2; traffic share ≥ 25 % +2 (≥ 5 % +1); user-facing +1; data
sensitivity personal/secret +2 (internal +1, only for leak-type or security incidents);
irreversible harm +1. SEV1 ≥ 6, SEV2 ≥ 4, SEV3 ≥ 2, else SEV4.
"""

from __future__ import annotations

from dataclasses import dataclass

from firebreak.config import DeploymentRisk, IncidentSettings
from firebreak.incidents.taxonomy import categories

LEVELS = ("SEV1", "SEV2", "SEV3", "SEV4")
_SENSITIVITY = {"none": 0, "internal": 1, "personal": 2, "secret": 2}


@dataclass(frozen=True)
class Assessment:
    """The rubric's inputs and its verdict, with the reasons shown on the timeline."""

    severity: str
    points: int
    reasons: tuple[str, ...]


def rank(severity: str) -> int:
    """0 for SEV1 (worst) … 3 for SEV4."""
    return LEVELS.index(severity) if severity in LEVELS else 3


def worse(a: str, b: str) -> str:
    return a if rank(a) <= rank(b) else b


def grade(category: str, *, traffic_share: float | None, risk: DeploymentRisk) -> Assessment:
    """Grade one incident from its category, the traffic share affected and the deployment."""
    entry = categories().get(category)
    kind = entry.kind if entry else "quality"
    points, reasons = 0, []
    if kind == "security":
        points += 2
        reasons.append("security (+2)")
    share = traffic_share or 0.0
    if share >= 0.25:
        points += 2
        reasons.append(f"{share:.0%} of traffic (+2)")
    elif share >= 0.05:
        points += 1
        reasons.append(f"{share:.0%} of traffic (+1)")
    if risk.user_facing:
        points += 1
        reasons.append("user-facing (+1)")
    if kind == "security" or kind == "availability":
        sens = _SENSITIVITY.get(risk.data_sensitivity, 1)
        if sens:
            points += sens
            reasons.append(f"{risk.data_sensitivity} data (+{sens})")
    if entry is not None and not entry.reversible:
        points += 1
        reasons.append("irreversible (+1)")
    severity = ("SEV1" if points >= 6 else "SEV2" if points >= 4
                else "SEV3" if points >= 2 else "SEV4")
    return Assessment(severity, points, tuple(reasons))


def assess(settings: IncidentSettings, deployment: str, category: str,
           traffic_share: float | None) -> Assessment:
    """The rubric with the deployment's overrides (pinned category, floor and ceiling)."""
    risk = settings.deployments.get(deployment, DeploymentRisk())
    result = grade(category, traffic_share=traffic_share, risk=risk)
    severity, reasons = result.severity, list(result.reasons)
    pinned = risk.categories.get(category)
    if pinned in LEVELS:
        severity = pinned
        reasons.append(f"pinned to {pinned} for {category} on {deployment}")
    if risk.min_severity in LEVELS and rank(severity) > rank(risk.min_severity):
        severity = risk.min_severity
        reasons.append(f"raised to the {deployment} floor {severity}")
    if risk.max_severity in LEVELS and rank(severity) < rank(risk.max_severity):
        severity = risk.max_severity
        reasons.append(f"capped at the {deployment} ceiling {severity}")
    return Assessment(severity, result.points, tuple(reasons))
