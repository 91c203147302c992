"""Which playbooks answer an incident, and in what order.

A playbook matches when every field of its `match` holds: the incident's category is one
of `category` (or `*`), its severity is one of `severity`, its deployment is one of
`deployment`, and every `labels` pair equals the deployment's label (the deployment's
labels from telemetry, overlaid by the incident's own labels). Empty fields match all.

Order: by `priority` (lower first), then by name. Every matching playbook runs, in that
order, until one marked `exclusive: true` has been taken: playbooks after it are left out.
Disabled playbooks never match.
"""

from __future__ import annotations

from typing import Any

from firebreak.playbooks.schema import Match, Playbook


def _one_of(value: str, allowed: str | list[str] | None) -> bool:
    if allowed is None:
        return True
    options = [allowed] if isinstance(allowed, str) else allowed
    return "*" in options or value in options


def matches(match: Match, *, category: str, severity: str, deployment: str,
            labels: dict[str, Any]) -> bool:
    """Whether one `match` block accepts the incident."""
    return (_one_of(category, match.category) and _one_of(severity, match.severity)
            and _one_of(deployment, match.deployment)
            and all(str(labels.get(k)) == v for k, v in match.labels.items()))


def answers_category(match: Match, category: str) -> bool:
    """Whether a playbook's `match` takes incidents of `category` (whatever else it asks)."""
    return _one_of(category, match.category)


def select(playbooks: list[Playbook], *, category: str, severity: str, deployment: str,
           labels: dict[str, Any]) -> list[Playbook]:
    """The playbooks to run for an incident, in run order (see module doc)."""
    chosen: list[Playbook] = []
    for playbook in sorted(playbooks, key=lambda p: (p.priority, p.name)):
        if playbook.enabled and matches(playbook.match, category=category, severity=severity,
                                        deployment=deployment, labels=labels):
            chosen.append(playbook)
            if playbook.exclusive:
                break
    return chosen
