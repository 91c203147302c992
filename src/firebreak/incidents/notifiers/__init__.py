"""Built-in notifiers, registered under the `firebreak.notifiers` entry-point group."""

from __future__ import annotations

from typing import Any

from firebreak import plugins
from firebreak.config import NotifierSettings
from firebreak.incidents.notifiers.base import Notifier, NotifyError

BUILTIN = {
    "slack": "firebreak.incidents.notifiers.slack:SlackNotifier",
    "pagerduty": "firebreak.incidents.notifiers.pagerduty:PagerDutyNotifier",
    "email": "firebreak.incidents.notifiers.email:EmailNotifier",
    "webhook": "firebreak.incidents.notifiers.webhook:WebhookNotifier",
    "thehive": "firebreak.incidents.notifiers.thehive:TheHiveNotifier",
}


def factories() -> dict[str, Any]:
    """{slug: notifier class}: entry points, falling back to the built-ins by path."""
    import importlib

    found: dict[str, Any] = {}
    for slug, path in BUILTIN.items():
        module, _, attr = path.partition(":")
        found[slug] = getattr(importlib.import_module(module), attr)
    found.update(plugins.load("notifiers"))
    return found


def build(settings: NotifierSettings) -> dict[str, Notifier]:
    """Every known notifier, built from the `notifiers:` settings."""
    return {slug: cls.from_settings(settings) for slug, cls in factories().items()}


__all__ = ["BUILTIN", "Notifier", "NotifyError", "build", "factories"]
