"""The dashboard: Jinja2 templates and our own static assets, served on the API's origin."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
