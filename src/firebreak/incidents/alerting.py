"""Alertmanager's notification semantics: inhibition, grouping and when to notify.

An incident is the aggregation group of its alerts (`group_by`, by default deployment and
taxonomy family, is exactly what correlation joins on). For each group:

- the first notification waits `group_wait` after the group opened, so alerts arriving
  together go out together;
- a changed group (alerts firing, severity, status) notifies again no sooner than
  `group_interval` after the last notification;
- an unchanged, still-firing group is re-sent after `repeat_interval`;
- resolution is sent at once;
- alerts muted by a silence or an inhibition rule do not count: a group whose firing
  alerts are all muted sends nothing (the timeline still records them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from firebreak.config import IncidentSettings, InhibitRule
from firebreak.incidents.taxonomy import family


def match_labels(labels: Mapping[str, Any], category: str, deployment: str) -> dict[str, str]:
    """The labels matchers see: the alert's own plus category, deployment and family."""
    out = {k: str(v) for k, v in labels.items()}
    out.setdefault("category", category)
    out.setdefault("deployment", deployment)
    out["family"] = family(out["category"])
    return out


def _value_matches(expected: str, actual: str | None) -> bool:
    if expected.startswith("~"):
        return actual is not None and re.fullmatch(expected[1:], actual) is not None
    return actual == expected


def _rule_side(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(_value_matches(v, labels.get(k)) for k, v in matchers.items())


Sources = list[list[tuple[str, Mapping[str, str]]]]


def rule_sources(rules: Sequence[InhibitRule], firing: Mapping[str, Mapping[str, str]],
                 ) -> Sources:
    """For each rule, the firing alerts (fingerprint, labels) that match its source side."""
    return [[(fp, labels) for fp, labels in firing.items()
             if _rule_side(rule.source_matchers, labels)] for rule in rules]


def inhibited(rules: Sequence[InhibitRule], sources: Sources, target: Mapping[str, str],
              fingerprint: str = "") -> int | None:
    """Index of the first rule under which a firing source alert mutes `target`."""
    for i, rule in enumerate(rules):
        if not _rule_side(rule.target_matchers, target):
            continue
        for fp, source in sources[i]:
            if fp != fingerprint and all(source.get(k) == target.get(k) for k in rule.equal):
                return i
    return None


def inhibited_by(rules: Sequence[InhibitRule], target: Mapping[str, str],
                 firing: Sequence[Mapping[str, str]]) -> int | None:
    """`inhibited` for a plain list of firing alerts' labels."""
    sources = rule_sources(rules, {str(i): labels for i, labels in enumerate(firing)})
    return inhibited(rules, sources, target)


def group_key(labels: Mapping[str, str], group_by: Sequence[str]) -> str:
    """Alertmanager's group key: the group_by label values, in order."""
    return "{" + ",".join(f'{k}="{labels.get(k, "")}"' for k in group_by) + "}"


def state_key(status: str, severity: str, firing: Sequence[str]) -> str:
    """A digest of what a notification says: changes in it mean 'notify again'."""
    text = f"{status}|{severity}|{','.join(sorted(firing))}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GroupView:
    """What the scheduler needs to know about one incident at one moment."""

    opened_at: datetime
    status: str
    key: str
    firing_unmuted: int
    firing_muted: int
    last_sent_at: datetime | None
    last_sent_key: str | None


def decide(view: GroupView, now: datetime, settings: IncidentSettings) -> str | None:
    """The event to notify now ("opened", "update", "resolved", "repeat") or None."""
    resolved = view.status in ("resolved", "postmortem")
    if view.last_sent_at is None:
        if resolved or view.firing_unmuted == 0:
            return None  # nothing was said, and nothing unmuted is firing
        wait = timedelta(seconds=settings.group_wait_seconds)
        return "opened" if now >= view.opened_at + wait else None
    changed = view.key != view.last_sent_key
    since = now - view.last_sent_at
    if resolved:
        return "resolved" if changed else None
    if view.firing_unmuted == 0 and view.firing_muted > 0:
        return None  # everything firing is silenced or inhibited
    if changed:
        interval = timedelta(seconds=settings.group_interval_seconds)
        return "update" if since >= interval else None
    if view.firing_unmuted and since >= timedelta(seconds=settings.repeat_interval_seconds):
        return "repeat"
    return None
