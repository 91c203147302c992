"""A generic JSON webhook signed with HMAC-SHA256 over the exact body bytes.

Headers: `X-Firebreak-Signature: sha256=<hex>` of `<timestamp>.<body>`, and
`X-Firebreak-Timestamp` (Unix seconds) so receivers can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

import httpx

from firebreak.config import NotifierSettings
from firebreak.incidents.messages import Message
from firebreak.incidents.notifiers.base import not_configured, post_json


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` over `timestamp.body`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(msg: Message) -> dict[str, Any]:
    return {"version": "1", "notification_id": msg.id, "event": msg.event, "form": msg.form,
            "title": msg.title(), "lines": msg.lines(), "incident": msg.incident,
            "approval_url": msg.approval_url}


class WebhookNotifier:
    """POSTs the message as JSON to one URL."""

    name: ClassVar[str] = "webhook"

    def __init__(self, url: str | None, secret: str | None) -> None:
        self.url = url
        self.secret = secret

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> WebhookNotifier:
        s = settings.webhook.secret
        return cls(settings.webhook.url, s.get_secret_value() if s else None)

    async def send(self, msg: Message, client: httpx.AsyncClient) -> None:
        if not self.url:
            raise not_configured("webhook", "webhook.url")
        body = json.dumps(payload(msg), separators=(",", ":"), default=str).encode()
        headers = {"Content-Type": "application/json", "X-Firebreak-Notification-Id": msg.id}
        if self.secret:
            ts = str(int(time.time()))
            headers["X-Firebreak-Timestamp"] = ts
            headers["X-Firebreak-Signature"] = sign(self.secret, ts, body)
        await post_json(client, self.url, None, "webhook", headers=headers, content=body)
