"""Durations as people write them in YAML: 90, "30s", "15m", "1h", "2d", "1h30m"."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
PATTERN = r"^\s*(\d+(\.\d+)?(ms|s|m|h|d))+\s*$|^\s*\d+(\.\d+)?\s*$"


def parse_duration(value: object) -> float:
    """Seconds in `value`; ValueError naming the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 30s, 15m, 1h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise ValueError(f"{value!r} is not a duration (use seconds or 30s, 15m, 1h, 2d)")
    return sum(float(n) * _UNITS[u] for n, u in parts)
