"""Find attacks and converters: built-ins plus whatever packages register by entry point."""

from __future__ import annotations

from typing import Any

from firebreak import plugins
from firebreak.errors import ValidationFailed
from firebreak.redteam.attacks import BUILTIN_ATTACKS
from firebreak.redteam.converters import BUILTIN_CONVERTERS


def _merged(kind: str, builtins: dict[str, type]) -> dict[str, Any]:
    # Built-ins are always present, even in a checkout whose entry points are not installed.
    return {**builtins, **plugins.load(kind)}


def attacks() -> dict[str, Any]:
    """{slug: attack instance} for every known attack."""
    return {name: cls() for name, cls in _merged("attacks", BUILTIN_ATTACKS).items()}


def converters() -> dict[str, Any]:
    """{slug: converter instance} for every known converter."""
    return {name: cls() for name, cls in _merged("converters", BUILTIN_CONVERTERS).items()}


def attack(name: str) -> Any:
    """One attack by slug; ValidationFailed naming the known ones otherwise."""
    known = attacks()
    if name not in known:
        raise ValidationFailed("attack",
                               f"unknown attack {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def converter(name: str) -> Any:
    """One converter by slug; ValidationFailed naming the known ones otherwise."""
    known = converters()
    if name not in known:
        raise ValidationFailed("converter",
                               f"unknown converter {name!r}; known: {', '.join(sorted(known))}")
    return known[name]
