"""Fixtures for forensics tests: settings with a private data dir, incidents, event helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from firebreak.config import Settings
from firebreak.store import Database, open_database
from firebreak.store.incidents import Incident, create_incident, new_incident_id

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "data")  # type: ignore[call-arg]


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[tuple[Database, Settings]]:
    """SQLite only: for the heavier scenario tests."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    database = open_database(url)
    yield database, Settings(database_url=url, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    database.dispose()


def make_incident(
    db: Database,
    deployment: str,
    *,
    onset: datetime = T0,
    category: str = "prompt_injection",
    status: str = "detected",
    **extra: Any,
) -> Incident:
    """Create and store an incident whose onset is `onset`."""
    inc = Incident(
        id=new_incident_id(),
        deployment=deployment,
        category=category,
        severity="SEV2",
        status=status,
        title=f"{category} on {deployment}",
        opened_at=onset + timedelta(minutes=2),
        updated_at=onset + timedelta(minutes=2),
        onset_at=onset,
        **extra,
    )
    return create_incident(db, inc)
