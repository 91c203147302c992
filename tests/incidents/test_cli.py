"""`firebreak incidents ...` and `firebreak silence ...` against a real SQLite store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from firebreak.config import get_settings
from firebreak.incidents.observations import from_signal
from firebreak.incidents.pipeline import Pipeline
from firebreak.store import open_database
from firebreak.store.incidents import get_incident, list_incidents

from .conftest import settings_for, signal


@pytest.fixture
def cli_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FIREBREAK_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    db = open_database(sqlite_url)
    Pipeline(db, settings_for(sqlite_url).incidents).observe(
        from_signal(signal(category="jailbreak")))
    db.dispose()
    yield sqlite_url
    get_settings.cache_clear()


def test_incidents_ls_show_ack_resolve(cli_db: str) -> None:
    runner = CliRunner()
    db = open_database(cli_db)
    (inc,) = list_incidents(db)
    out = runner.invoke(app, ["incidents", "ls"])
    assert out.exit_code == 0 and inc.id in out.output
    out = runner.invoke(app, ["incidents", "show", inc.id])
    assert out.exit_code == 0 and "AML.T0054" in out.output and "LLM01:2025" in out.output
    out = runner.invoke(app, ["incidents", "ack", inc.id, "--actor", "carol"])
    assert out.exit_code == 0 and "triaged" in out.output
    out = runner.invoke(app, ["incidents", "resolve", inc.id, "--note", "blocked keys"])
    assert out.exit_code == 0
    done = get_incident(db, inc.id)
    assert done.status == "resolved" and done.assignees["acknowledged_by"] == "carol"
    db.dispose()


def test_silence_add_ls_expire(cli_db: str) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["silence", "add", "deployment=bot", "category=~jail.*",
                              "-d", "2h", "-c", "pentest"])
    assert out.exit_code == 0, out.output
    sid = re.search(r"sil-[0-9a-f]+", out.output).group(0)  # type: ignore[union-attr]
    out = runner.invoke(app, ["silence", "ls", "--state", "active"])
    assert sid in out.output and "pentest" in out.output
    assert runner.invoke(app, ["silence", "expire", sid]).exit_code == 0
    out = runner.invoke(app, ["silence", "ls", "--state", "active"])
    assert sid not in out.output


def test_bad_input_is_one_red_line_and_nonzero_exit(cli_db: str) -> None:
    env = {**os.environ, "FIREBREAK_DATABASE_URL": cli_db, "COLUMNS": "200"}
    exe = str(Path(sys.executable).parent / "firebreak")
    proc = subprocess.run([exe, "silence", "add", "deployment", "-d", "2h"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "matcher" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
