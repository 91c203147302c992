"""Firebreak: automated incident response for production AI systems."""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "check"]


def __getattr__(name: str) -> Any:
    # Lazy: `import firebreak` stays light; numpy, pandas and sketches load on first use.
    if name == "check":
        from firebreak.detect.check import check

        return check
    raise AttributeError(f"module 'firebreak' has no attribute {name!r}")
