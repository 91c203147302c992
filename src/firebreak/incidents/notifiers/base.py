"""The notifier contract: send one rendered message; say whether a failure is worth a retry.

As in Alertmanager's notify package, a failure is *recoverable* (5xx, 429, network) and
retried with backoff, or not (4xx, bad configuration) and dead-lettered at once.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import httpx

from firebreak.config import NotifierSettings
from firebreak.errors import FirebreakError
from firebreak.incidents.messages import Message


class NotifyError(FirebreakError):
    """Raised when a notification could not be delivered; `recoverable` means retry."""

    def __init__(self, message: str, *, recoverable: bool) -> None:
        super().__init__(message, recoverable=recoverable)
        self.recoverable = recoverable


@runtime_checkable
class Notifier(Protocol):
    """Delivers messages to one service."""

    name: ClassVar[str]

    async def send(self, msg: Message, client: httpx.AsyncClient) -> None: ...


class NotifierFactory(Protocol):
    """What the `firebreak.notifiers` entry points name: a class built from settings."""

    name: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> Notifier: ...


def check(resp: httpx.Response, service: str) -> None:
    """Raise NotifyError unless `resp` is 2xx; 5xx and 429 are recoverable."""
    if resp.is_success:
        return
    recoverable = resp.status_code >= 500 or resp.status_code == 429
    raise NotifyError(f"{service} answered {resp.status_code}: {resp.text[:200]}",
                      recoverable=recoverable)


async def post_json(client: httpx.AsyncClient, url: str, body: object, service: str,
                    headers: dict[str, str] | None = None, content: bytes | None = None) -> None:
    """POST JSON (or pre-encoded `content`) and check the answer; network errors retry."""
    try:
        if content is not None:
            resp = await client.post(url, content=content, headers=headers)
        else:
            resp = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise NotifyError(f"{service} unreachable: {type(exc).__name__}",
                          recoverable=True) from exc
    check(resp, service)


def not_configured(service: str, field: str) -> NotifyError:
    return NotifyError(f"{service} is not configured: set notifiers.{field}", recoverable=False)
