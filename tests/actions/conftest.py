"""Fixtures for action tests: a context on a real store with a real incident."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from firebreak.actions.base import ActionContext
from firebreak.config import Settings
from firebreak.store.db import Database
from firebreak.store.incidents import Incident

MakeCtx = Callable[..., ActionContext]


@pytest.fixture
def make_ctx(tmp_path: Path) -> MakeCtx:
    from playbooks.helpers import root
    make_settings = root().make_settings
    from playbooks.helpers import make_incident

    def build(db: Database, *, step_id: str = "step", run_id: str = "run-test",
              incident: Incident | None = None, settings: Settings | None = None,
              **facts: object) -> ActionContext:
        settings = settings or make_settings(db.url, data_dir=tmp_path / "data")
        incident = incident or make_incident(db, facts=dict(facts))
        return ActionContext(db=db, settings=settings, incident=incident,
                             deployment={"name": incident.deployment}, run_id=run_id,
                             step_id=step_id)

    return build


@pytest.fixture
def sdb(sqlite_url: str):  # type: ignore[no-untyped-def]
    from firebreak.store import open_database

    database = open_database(sqlite_url)
    yield database
    database.dispose()
