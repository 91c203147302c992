"""Plugin discovery through Python entry points.

Groups: firebreak.detectors, .scanners, .actions, .notifiers, .attacks, .converters,
.scenarios. Built-ins register the same way as a user's package. YAML names plugins by
their short slug (the entry-point name), never by import path. A plugin that fails to
load is logged and left out, or raises under strict=True.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

import structlog

from firebreak.errors import PluginError

log = structlog.get_logger(__name__)

GROUPS = ("detectors", "scanners", "actions", "notifiers", "attacks", "converters", "scenarios")


@cache
def load(kind: str, *, strict: bool = False) -> dict[str, Any]:
    """{slug: loaded object} for every plugin of `kind` (e.g. 'scanners')."""
    if kind not in GROUPS:
        raise PluginError(f"unknown plugin kind {kind!r}; one of {', '.join(GROUPS)}")
    found: dict[str, Any] = {}
    for ep in entry_points(group=f"firebreak.{kind}"):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:
            if strict:
                raise PluginError(f"plugin {kind}:{ep.name} failed to load: {exc}") from exc
            log.warning("plugin.load_failed", kind=kind, name=ep.name, error=str(exc))
    return found


def get(kind: str, name: str) -> Any:
    """One plugin by slug; PluginError naming the known slugs if absent."""
    plugins = load(kind)
    if name not in plugins:
        known = ", ".join(sorted(plugins)) or "none"
        raise PluginError(f"no {kind[:-1]} named {name!r}; known: {known}")
    return plugins[name]
