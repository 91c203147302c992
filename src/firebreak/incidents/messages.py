"""The two message forms every notifier renders: engineering detail and executive summary.

A message is built from the incident snapshot taken when the notification was queued, so
the words match the moment they describe, however late delivery happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

FORMS = ("engineering", "executive")
# How soon the next update is promised, by severity (executive form).
UPDATE_CADENCE = {"SEV1": timedelta(minutes=30), "SEV2": timedelta(hours=1),
                  "SEV3": timedelta(hours=4), "SEV4": timedelta(hours=24)}
EVENT_WORDS = {"opened": "opened", "update": "updated", "severity": "re-graded",
               "category": "re-classified",
               "status": "changed status", "resolved": "resolved", "reopened": "reopened",
               "acknowledged": "acknowledged", "approval": "needs approval"}


@dataclass(frozen=True)
class Message:
    """One notification ready to render: snapshot, form, event and extra params."""

    id: str
    incident: dict[str, Any]
    form: str = "engineering"
    params: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    public_url: str | None = None

    @property
    def incident_id(self) -> str:
        return str(self.incident["id"])

    @property
    def event(self) -> str:
        return str(self.params.get("event", "update"))

    @property
    def severity(self) -> str:
        return str(self.incident.get("severity", "SEV4"))

    @property
    def resolved(self) -> bool:
        return self.event == "resolved" or self.incident.get("status") in ("resolved",
                                                                            "postmortem")

    @property
    def approval_url(self) -> str | None:
        url = self.params.get("approval_url")
        return str(url) if url else None

    @property
    def incident_url(self) -> str | None:
        if self.public_url:
            return f"{self.public_url.rstrip('/')}/incidents/{self.incident_id}"
        return None

    def title(self) -> str:
        inc = self.incident
        word = EVENT_WORDS.get(self.event, self.event)
        return f"[{inc['severity']}] {inc['id']} {word}: {inc['title']}"

    def lines(self) -> list[str]:
        """The body in this message's form, one fact per line."""
        body = executive_lines(self) if self.form == "executive" else engineering_lines(self)
        if self.params.get("text"):
            body.insert(0, str(self.params["text"]))
        if self.approval_url:
            body.append(f"Approve or reject: {self.approval_url}")
        if self.incident_url:
            body.append(f"Incident: {self.incident_url}")
        return body

    def text(self) -> str:
        return "\n".join([self.title(), "", *self.lines()])


def engineering_lines(msg: Message) -> list[str]:
    """Everything an on-call engineer needs: labels, alerts, taxonomy, numbers."""
    inc = msg.incident
    tax = inc.get("taxonomy") or {}
    lines = [f"Deployment: {inc['deployment']}   Category: {inc['category']}",
             f"Status: {inc['status']}   Severity: {inc['severity']}   Opened: {inc['opened_at']}"]
    if tax:
        lines.append(f"OWASP: {', '.join(tax.get('owasp', []))}   "
                     f"ATLAS: {', '.join(tax.get('atlas', []))}   "
                     f"NIST AI RMF: {', '.join(tax.get('nist', []))}")
    for alert in inc.get("alerts", [])[:10]:
        value = "" if alert.get("value") is None else f" value={alert['value']:g}"
        lines.append(f"- {alert['status']} {alert['name']} [{alert['fingerprint']}]{value}")
    facts = {k: v for k, v in (inc.get("facts") or {}).items() if not isinstance(v, dict | list)}
    if facts:
        lines.append("Facts: " + ", ".join(f"{k}={v}" for k, v in sorted(facts.items())[:12]))
    return lines


def executive_lines(msg: Message) -> list[str]:
    """Impact, status and the next update, in plain words."""
    inc = msg.incident
    facts = inc.get("facts") or {}
    share = facts.get("traffic_share")
    impact = (f"about {float(share):.0%} of {inc['deployment']} traffic"
              if isinstance(share, int | float) else f"the {inc['deployment']} deployment")
    kind = str(inc["category"]).replace("_", " ")
    lines = [f"Impact: {kind} affecting {impact}.", f"Status: {inc['status']}."]
    if msg.resolved:
        lines.append("Next update: none planned; a post-incident review follows.")
    else:
        nxt = msg.params.get("next_update")
        if nxt is None and msg.created_at is not None:
            nxt = (msg.created_at + UPDATE_CADENCE.get(msg.severity, timedelta(hours=4)))
            nxt = nxt.strftime("%H:%M UTC")
        lines.append(f"Next update: by {nxt}.")
    return lines
