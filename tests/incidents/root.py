"""The root conftest's helpers, loaded by path: several test folders have a conftest.py,
so `from conftest import ...` would pick whichever was imported first."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "firebreak_root_conftest_incidents", Path(__file__).resolve().parents[1] / "conftest.py")
assert _spec is not None and _spec.loader is not None
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

BOOT_TOKEN: str = _root.BOOT_TOKEN
IN_CI: bool = _root.IN_CI
LiveServer = _root.LiveServer
free_port = _root.free_port
