"""Helpers shared by CLI commands: settings, the database, the console."""

from __future__ import annotations

from rich.console import Console

from firebreak.config import Settings, get_settings
from firebreak.store import Database, open_database

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()


def database() -> Database:
    return open_database(get_settings().database_url)
