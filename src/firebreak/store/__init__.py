"""The store: SQLAlchemy 2 tables, repositories and Alembic migrations."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from firebreak.store.db import Database
from firebreak.store.migrate import upgrade
from firebreak.store.models import Base

# Store modules that declare tables on Base; each later stage adds its own here.
TABLE_MODULES = [
    "firebreak.store.models",
    "firebreak.store.incidents",
    "firebreak.store.monitor",
    "firebreak.store.alerting",
    "firebreak.store.forensics",
    "firebreak.store.playbooks",
    "firebreak.store.scale",
    "firebreak.store.audit",
    "firebreak.store.results",
]


def all_tables() -> MetaData:
    """Base.metadata with every stage's tables imported."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return Base.metadata


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open the database at `url`, applying migrations first unless told not to."""
    if migrate:
        upgrade(url)
    return Database(url)


__all__ = ["Base", "Database", "all_tables", "open_database", "upgrade"]
