"""`firebreak ingest FILE.jsonl` (store and HTTP modes) and the event schema kept in docs/."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from firebreak.config import get_settings
from firebreak.errors import ConfigError
from firebreak.events import events_json_schema
from firebreak.store import open_database
from firebreak.store.events import count_events
from spine.conftest import llm_calls
from spine.shared import BOOT_TOKEN

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    lines = [orjson.dumps(e) for e in llm_calls(7)]
    lines[3:3] = [b"{broken", b'{"kind": "llm.call", "deployment": "a b"}']
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    return path


@pytest.fixture
def env_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIREBREAK_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_ingest_file_into_the_store(replay_file: Path, env_db: str) -> None:
    result = CliRunner().invoke(app, ["ingest", str(replay_file)])
    assert result.exit_code == 1, result.output  # some lines were refused
    assert "accepted 7" in result.output and "refused 2" in result.output
    assert "not valid JSON" in result.output and "deployment" in result.output
    db = open_database(env_db)
    assert count_events(db) == 7
    db.dispose()
    again = CliRunner().invoke(app, ["ingest", str(replay_file)])
    assert "accepted 0, duplicates 7" in again.output


def test_refusals_carry_file_line_numbers(replay_file: Path, env_db: str) -> None:
    from firebreak.commands.ingest import _replay, _store_sender

    totals, refusals = _replay(replay_file, 3, _store_sender())
    assert totals["accepted"] == 7
    assert [(line, field) for line, field, _ in refusals] == [(4, "body"), (5, "deployment")]


def test_ingest_file_over_http(replay_file: Path, watched_api: Any) -> None:
    url, runtime, seen = watched_api
    result = CliRunner().invoke(app, ["ingest", str(replay_file), "--url", url,
                                      "--token", BOOT_TOKEN, "--batch-size", "4"])
    assert result.exit_code == 1 and "accepted 7" in result.output, result.output
    assert "not valid JSON" in result.output
    assert count_events(runtime.db) == 7


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such file" in " ".join(result.output.split())


def test_docs_event_schema_is_up_to_date() -> None:
    current = json.dumps(events_json_schema(), indent=2, sort_keys=True) + "\n"
    assert (DOCS / "event-schema.json").read_text() == current, (
        "docs/event-schema.json is stale; regenerate it with: python -c \"import json; "
        "from firebreak.events import events_json_schema as s; open('docs/event-schema.json',"
        "'w').write(json.dumps(s(), indent=2, sort_keys=True) + '\\n')\"")


def test_invalid_settings_name_the_field_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "firebreak.yaml"
    config.write_text("forensics:\n  snapshot_processes: -1\n")
    monkeypatch.setenv("FIREBREAK_CONFIG", str(config))
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"forensics\.snapshot_processes: .*greater than"):
            get_settings()
    finally:
        get_settings.cache_clear()
    done = subprocess.run([sys.executable, "-c", "from firebreak.cli import main; main()",
                           "config", "show"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "forensics.snapshot_processes" in done.stderr and "Traceback" not in done.stderr
