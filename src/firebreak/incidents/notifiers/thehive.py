"""TheHive 5 alert creation: POST /api/v1/alert with a Bearer API key."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from firebreak.config import NotifierSettings
from firebreak.incidents.messages import Message
from firebreak.incidents.notifiers.base import not_configured, post_json

# TheHive severity: 1 low, 2 medium, 3 high, 4 critical.
SEVERITY = {"SEV1": 4, "SEV2": 3, "SEV3": 2, "SEV4": 1}


def alert(msg: Message) -> dict[str, Any]:
    """The TheHive 5 InputAlert body; sourceRef is unique per notification."""
    inc = msg.incident
    tax = inc.get("taxonomy") or {}
    tags = [f"firebreak:{inc['category']}", f"deployment:{inc['deployment']}",
            *tax.get("owasp", []), *tax.get("atlas", [])]
    return {"type": "firebreak", "source": "firebreak", "sourceRef": msg.id,
            "title": msg.title()[:512], "description": "\n".join(msg.lines()),
            "severity": SEVERITY.get(msg.severity, 2), "tags": tags,
            "externalLink": msg.incident_url or "", "tlp": 2, "pap": 2}


class TheHiveNotifier:
    """Creates one TheHive alert per message."""

    name: ClassVar[str] = "thehive"

    def __init__(self, url: str | None, api_key: str | None) -> None:
        self.url = url
        self.api_key = api_key

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> TheHiveNotifier:
        key = settings.thehive.api_key
        return cls(settings.thehive.url, key.get_secret_value() if key else None)

    async def send(self, msg: Message, client: httpx.AsyncClient) -> None:
        if not self.url or not self.api_key:
            raise not_configured("thehive", "thehive.url and notifiers.thehive.api_key")
        await post_json(client, self.url.rstrip("/") + "/api/v1/alert", alert(msg), "thehive",
                        headers={"Authorization": f"Bearer {self.api_key}"})
