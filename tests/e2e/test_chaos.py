"""The whole loop on the reference world: every chaos scenario, and `firebreak demo --once`.

These run real processes (control plane, gateway) and real servers on loopback; they are the
acceptance test of Firebreak: detect, triage, contain, notify, investigate, report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _firebreak(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "firebreak", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_every_scenario_is_detected_classified_and_contained(tmp_path: Path) -> None:
    out = tmp_path / "scorecard.json"
    proc = _firebreak("chaos", "run", "--all", "--profile", "fast", "--json", "--out", str(out),
                      timeout=600)
    card = json.loads(out.read_text())
    failed = {s["scenario"]: {k: s[k] for k in ("detected", "category", "category_right",
                                                "containment_right", "actions", "report_written",
                                                "note")}
              for s in card["scenarios"] if not s["passed"]}
    assert card["false_incidents"] == [], "incidents opened during the clean warm-up"
    assert failed == {}, json.dumps(failed, indent=1)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(s["notifications"] >= 1 for s in card["scenarios"])
    assert all(s["time_to_contain_s"] is not None and s["time_to_contain_s"] < 5
               for s in card["scenarios"])


def test_demo_runs_end_to_end_once() -> None:
    proc = _firebreak("demo", "--once", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "report:" in proc.stdout and "inc-" in proc.stdout
