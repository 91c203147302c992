"""`firebreak.check(...)` from Python and `firebreak check` / `firebreak baseline` from the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import Result

import firebreak
from firebreak.errors import NotFound, ValidationFailed

COLUMNS = ["dep_delay", "arr_delay", "distance", "hour", "carrier", "origin"]


def test_check_api_on_dataframes_and_arrow(flights: pd.DataFrame) -> None:
    ref, cur = flights.iloc[:3000][COLUMNS], flights.iloc[3000:6000][COLUMNS].copy()
    assert firebreak.check(ref, cur).drifted == []
    cur["hour"] = cur["hour"] + 2
    report = firebreak.check(pa.Table.from_pandas(ref), pa.Table.from_pandas(cur))
    assert report.drifted == ["hour"]
    hour = report.columns["hour"]
    assert hour.drift and hour.test == "ks" and hour.p_value < 1e-6
    assert not report.columns["carrier"].drift
    data = json.loads(report.to_json())
    assert data["columns"]["hour"]["changed"] is True and data["drift_share"] == 1 / 6


def test_check_performance_columns(flights: pd.DataFrame) -> None:
    frame = flights.dropna(subset=["dep_delay", "arr_delay"]).iloc[:4000].copy()
    frame["late"] = frame["arr_delay"] > 15
    frame["guess"] = frame["dep_delay"] > 15
    report = firebreak.check(frame.iloc[:2000], frame.iloc[2000:], target="late",
                             prediction="guess")
    assert "late" not in report.columns and "guess" in report.columns
    acc = report.performance["current"].accuracy
    assert report.performance["current"].task == "classification" and 0.8 < acc < 0.95


def test_check_refuses_unknown_column(flights: pd.DataFrame) -> None:
    with pytest.raises(ValidationFailed, match="nope"):
        firebreak.check(flights.iloc[:10], flights.iloc[10:20], target="nope", prediction="hour")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Run `firebreak ...` in-process against a fresh SQLite file."""
    from typer.testing import CliRunner

    from firebreak.cli import app
    from firebreak.config import get_settings

    monkeypatch.setenv("FIREBREAK_DATABASE_URL", f"sqlite:///{tmp_path / 'fb.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def test_cli_check_and_baseline(flights: pd.DataFrame, tmp_path: Path, cli) -> None:
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.parquet"
    flights.iloc[:2000][COLUMNS].to_csv(ref, index=False)
    shifted = flights.iloc[2000:4000][COLUMNS].copy()
    shifted["distance"] *= 1.3
    shifted.to_parquet(cur)
    out = cli("check", "--reference", str(ref), "--current", str(cur), "--json")
    assert out.exit_code == 1 and json.loads(out.stdout)["drifted"] == ["distance"]
    bad = cli("check", "-r", str(ref), "-c", str(tmp_path / "x.xlsx"))
    assert isinstance(bad.exception, ValidationFailed) and bad.exception.field == "--current"
    done = cli("baseline", "set", "flights", str(ref))
    assert done.exit_code == 0, done.output
    [row] = json.loads(cli("baseline", "show", "flights", "--json").stdout)
    assert row["source"] == "file" and row["rows"] == 2000 and "carrier" in row["features"]
    missing = cli("baseline", "pin", "nobody")
    assert isinstance(missing.exception, NotFound)


def test_import_firebreak_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, firebreak; heavy = {'numpy', 'pandas', 'datasketches', 'scipy'};"
            "print(sorted(heavy & set(sys.modules))); print(callable(firebreak.check))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["[]", "True"]
