"""PagerDuty Events API v2: trigger, acknowledge and resolve, dedup_key = incident id."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from firebreak.config import NotifierSettings
from firebreak.incidents.messages import Message
from firebreak.incidents.notifiers.base import not_configured, post_json

SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}


def event_action(msg: Message) -> str:
    explicit = msg.params.get("event_action")
    if explicit in ("trigger", "acknowledge", "resolve"):
        return str(explicit)
    if msg.resolved:
        return "resolve"
    return "acknowledge" if msg.event == "acknowledged" else "trigger"


def event(msg: Message, routing_key: str, source: str) -> dict[str, Any]:
    """The Events API v2 body for one message."""
    action = event_action(msg)
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action,
                            "dedup_key": msg.incident_id}
    if action != "trigger":
        return body
    inc = msg.incident
    tax = inc.get("taxonomy") or {}
    body["payload"] = {
        "summary": msg.title()[:1024], "source": f"{source}:{inc['deployment']}",
        "severity": SEVERITY.get(msg.severity, "warning"),
        "timestamp": str(inc["updated_at"]), "component": inc["deployment"],
        "group": inc["deployment"], "class": inc["category"],
        "custom_details": {"status": inc["status"], "form": msg.form, "lines": msg.lines(),
                           "owasp": tax.get("owasp", []), "atlas": tax.get("atlas", [])},
    }
    body["client"] = "firebreak"
    links = [{"href": url, "text": text} for text, url in (
        ("Approve or reject", msg.approval_url), ("Incident", msg.incident_url)) if url]
    if msg.incident_url:
        body["client_url"] = msg.incident_url
    if links:
        body["links"] = links
    return body


class PagerDutyNotifier:
    """Sends Events API v2 events to one integration (routing key)."""

    name: ClassVar[str] = "pagerduty"

    def __init__(self, routing_key: str | None, url: str, source: str = "firebreak") -> None:
        self.routing_key = routing_key
        self.url = url
        self.source = source

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> PagerDutyNotifier:
        pd = settings.pagerduty
        key = pd.routing_key.get_secret_value() if pd.routing_key else None
        return cls(key, pd.url, pd.source)

    async def send(self, msg: Message, client: httpx.AsyncClient) -> None:
        if not self.routing_key:
            raise not_configured("pagerduty", "pagerduty.routing_key")
        await post_json(client, self.url, event(msg, self.routing_key, self.source), "pagerduty")
