"""Fixtures for the playbook tests: settings on the shared database fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from firebreak.config import Settings
from firebreak.store.db import Database


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    from playbooks.helpers import root
    make_settings = root().make_settings

    s = make_settings(db.url, data_dir=tmp_path / "data")
    s.playbooks.engine_id = "test-engine"
    s.playbooks.approval_secret = None
    return s


@pytest.fixture
def sdb(sqlite_url: str) -> Database:
    """SQLite only: for behaviour that does not depend on the backend (keeps the suite fast)."""
    from firebreak.store import open_database

    database = open_database(sqlite_url)
    yield database  # type: ignore[misc]
    database.dispose()


@pytest.fixture
def ssettings(sdb: Database, tmp_path: Path) -> Settings:
    from playbooks.helpers import root
    make_settings = root().make_settings

    s = make_settings(sdb.url, data_dir=tmp_path / "data")
    s.playbooks.engine_id = "test-engine"
    return s
