"""Slack incoming webhook with Block Kit blocks (header, section fields, context, actions)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from firebreak.config import NotifierSettings
from firebreak.incidents.messages import Message
from firebreak.incidents.notifiers.base import not_configured, post_json

_EMOJI = {"SEV1": ":red_circle:", "SEV2": ":large_orange_circle:",
          "SEV3": ":large_yellow_circle:", "SEV4": ":white_circle:"}


def blocks(msg: Message) -> list[dict[str, Any]]:
    """The Block Kit blocks of one message (text objects stay under Slack's limits)."""
    inc = msg.incident
    mark = ":white_check_mark:" if msg.resolved else _EMOJI.get(msg.severity, "")
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": msg.title()[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{mark} *{inc['title']}*"[:3000]},
         "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in (
             ("Severity", inc["severity"]), ("Status", inc["status"]),
             ("Deployment", inc["deployment"]), ("Category", inc["category"]))]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(msg.lines())[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn",
                                          "text": f"{inc['id']} · {msg.form} · firebreak"}]},
    ]
    buttons = [(text, url) for text, url in (("Approve / reject", msg.approval_url),
                                             ("Open incident", msg.incident_url)) if url]
    if buttons:
        out.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": text}, "url": url}
            for text, url in buttons]})
    return out


class SlackNotifier:
    """Posts to a Slack incoming webhook."""

    name: ClassVar[str] = "slack"

    def __init__(self, webhook_url: str | None) -> None:
        self.webhook_url = webhook_url

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> SlackNotifier:
        url = settings.slack.webhook_url
        return cls(url.get_secret_value() if url else None)

    async def send(self, msg: Message, client: httpx.AsyncClient) -> None:
        if not self.webhook_url:
            raise not_configured("slack", "slack.webhook_url")
        # `text` is the fallback shown in notifications where blocks are not rendered.
        await post_json(client, self.webhook_url, {"text": msg.title(), "blocks": blocks(msg)},
                        "slack")
