"""The root conftest's helpers, loaded by path (several conftest.py files share one name)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "firebreak_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
assert _spec is not None and _spec.loader is not None
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

BOOT_TOKEN: str = _root.BOOT_TOKEN
LiveServer = _root.LiveServer
free_port = _root.free_port
make_settings = _root.make_settings
fresh_pg_url = _root.fresh_pg_url
