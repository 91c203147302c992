"""Record a red-team report as a campaign in the store, for the dashboard's red-team page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from firebreak.store import Database
from firebreak.store.results import Campaign, NewCampaign, ProbeResult, record_campaign

BENIGN_OUTCOMES = ("passed", "failed")


def campaign_from_report(report: dict[str, Any]) -> NewCampaign:
    """A report of `redteam.report.summarise` as the store's campaign (per category = per
    attack; benign probes counted apart from the attacks)."""
    started = datetime.fromisoformat(report["started"])
    benign_names = set(report.get("benign", {})) - set(report.get("per_attack", {}))
    probes = []
    for a in report.get("attempts", []):
        benign = a["outcome"] in BENIGN_OUTCOMES or a["attack"] in benign_names
        rest = {k: v for k, v in a.items() if k not in ProbeResult.model_fields}
        probes.append(ProbeResult(id=str(a["id"])[:200], attack=a["attack"][:200],
                                  converter=(a.get("converter") or "none")[:200],
                                  outcome=a["outcome"], benign=benign,
                                  reason=(a.get("reason") or "")[:5000], **rest))
    s = report["summary"]
    return NewCampaign(suite=report["suite"][:200], target=report["target"][:500],
                       started_at=started,
                       finished_at=started + timedelta(seconds=report.get("seconds", 0)),
                       per_category=report.get("per_attack", {}),
                       per_converter=report.get("per_converter", {}),
                       benign_attempts=s.get("benign_attempts", 0),
                       benign_answered=s.get("benign_passed", 0), probes=probes)


def record_report(db: Database, report: dict[str, Any], *, recorded_by: str) -> Campaign:
    return record_campaign(db, campaign_from_report(report), recorded_by=recorded_by)
