"""Finding actions by name: the `firebreak.actions` entry points, plus `notify.<notifier>`.

Every built-in registers under that group in pyproject.toml, as a user's package would.
"""

from __future__ import annotations

from firebreak import plugins
from firebreak.actions.base import Action
from firebreak.errors import PluginError


def names() -> list[str]:
    """Every registered action name (`notify` stands for the `notify.<notifier>` family)."""
    return sorted(plugins.load("actions"))


def exists(name: str) -> bool:
    """Whether `name` resolves to an action (without building it)."""
    found = plugins.load("actions")
    return name in found or (name.startswith("notify.") and "notify" in found)


def get_action(name: str) -> Action:
    """A ready action instance for `name`; PluginError naming the known actions otherwise."""
    found = plugins.load("actions")
    if name in found:
        return found[name]()
    if name.startswith("notify.") and "notify" in found:
        return found["notify"](name.removeprefix("notify."))
    raise PluginError(f"no action named {name!r}; known: {', '.join(sorted(found)) or 'none'}")
