"""Reports in their own process: written by a child that opens the same database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from firebreak.config import Settings
from firebreak.errors import FirebreakError
from firebreak.forensics import worker
from firebreak.forensics.evidence import list_evidence
from firebreak.store import Database, open_database
from tests.forensics.conftest import make_incident


def test_report_is_written_by_another_process(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    inc = make_incident(db, "bot")
    assert not worker.in_process(db, settings)
    paths = worker.write_report(db, incident_id=inc.id, settings=settings)
    data = json.loads(Path(paths["json"]).read_text())
    assert data["incident"]["id"] == inc.id
    # the child wrote the evidence into the same database, and it was not this process
    assert {e["kind"] for e in list_evidence(db, inc.id)} >= {"report:json", "incident"}
    pid = worker._executor().submit(os.getpid).result()
    assert pid != os.getpid()
    # and it runs below the control plane's priority
    assert worker._executor().submit(os.nice, 0).result() >= os.nice(0) + worker.REPORT_NICE


def test_errors_come_back_with_their_message(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    with pytest.raises(FirebreakError, match="inc-missing"):
        worker.write_report(db, incident_id="inc-missing", settings=settings)


def test_in_memory_database_and_opt_out_stay_in_process(tmp_path: Path) -> None:
    memory = Database("sqlite:///:memory:")
    assert worker.in_process(memory, Settings(database_url="sqlite://"))  # type: ignore[call-arg]
    url = f"sqlite:///{tmp_path / 'f.db'}"
    off = Settings(database_url=url, forensics={"report_process": False})  # type: ignore[call-arg]
    assert worker.in_process(open_database(url), off)
