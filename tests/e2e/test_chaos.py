"""The whole loop on the reference world: every chaos scenario, and `firebreak demo --once`.

These run real processes (control plane, gateway) and real servers on loopback; they are the
acceptance test of Firebreak: detect, triage, contain, notify, investigate, report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _firebreak(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "firebreak", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_every_scenario_is_detected_classified_and_contained(tmp_path: Path) -> None:
    out = tmp_path / "scorecard.json"
    started = time.monotonic()
    proc = _firebreak("chaos", "run", "--all", "--profile", "fast", "--json", "--out", str(out),
                      timeout=600)
    print(f"fast profile: {time.monotonic() - started:.0f}s wall, load {os.getloadavg()}")
    card = json.loads(out.read_text())
    failed = {s["scenario"]: {k: s[k] for k in ("detected", "category", "category_right",
                                                "containment_right", "actions", "report_written",
                                                "note")}
              for s in card["scenarios"] if not s["passed"]}
    assert card["false_incidents"] == [], "incidents opened during the clean warm-up"
    # The quiet warm-up means something only if windows were judged against the reference.
    judged = card["clean"]["windows_judged"]
    assert all(n >= 1 for n in judged.values()), (judged, card["clean"])
    assert failed == {}, json.dumps(failed, indent=1)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(s["notifications"] >= 1 for s in card["scenarios"])
    assert all(s["time_to_contain_s"] is not None and s["time_to_contain_s"] < 5
               for s in card["scenarios"])
    # Resolving each incident undid its containment and left the guard policy as it was.
    unrestored = [s["scenario"] for s in card["scenarios"] if not s["policy_restored"]]
    assert unrestored == [], f"guard policy not back after resolution: {unrestored}"
    # A clean batch after the poisoned one resolves the poisoning alert by judgement.
    poisoning = next(s for s in card["scenarios"] if s["scenario"] == "training-poisoning")
    assert poisoning["steady_state_back"], poisoning


def test_demo_runs_end_to_end_once() -> None:
    proc = _firebreak("demo", "--once", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "report:" in proc.stdout and "inc-" in proc.stdout


def test_flight_model_fast_path_matches_the_pipeline() -> None:
    """The world's predictions are the fitted pipeline's, without a DataFrame per request."""
    import numpy as np
    import pandas as pd

    from firebreak.chaos.tabular import FEATURES, FlightModel

    model = FlightModel.build(rows=6000)
    rows = [{k: v for k, v in r.items() if k != "late"} for r in model.records()[:500]]
    rows.append({**rows[0], "carrier": "ZZ9"})  # unseen category: ignored, as one-hot does
    fast = np.array([model.predict(r)[1] for r in rows])
    slow = model.model.predict_proba(pd.DataFrame(rows)[FEATURES])[:, 1]
    assert np.allclose(fast, slow, atol=1e-9)
    with pytest.raises(ValueError, match="features.distance: must be a number"):
        model.predict({**rows[0], "distance": "far"})


def test_retrieval_cache_follows_the_index() -> None:
    """Cached scores never hide a document inserted (RAG poisoning) or removed later."""
    from firebreak.chaos.retrieval import Chunk, Retriever

    r = Retriever()
    question = "How do I reset the router to factory settings?"
    before = [c.doc_id for c in r.search(question)]
    r.insert([Chunk("forum-x", "Reset the router to factory settings: hold reset 30 s. "
                               "Router factory reset settings reset.", "community-forum")])
    assert "forum-x" in [c.doc_id for c in r.search(question)]
    r.clear_inserted()
    assert [c.doc_id for c in r.search(question)] == before


def test_scenarios_run_in_one_lane_per_deployment() -> None:
    from firebreak.chaos.runner import lanes
    from firebreak.chaos.scenarios import SCENARIOS

    names = list(SCENARIOS)
    groups = lanes(names)
    assert sorted(i for g in groups for i in g) == list(range(len(names)))
    for g in groups:
        assert len({SCENARIOS[names[i]].deployment for i in g}) == 1
        assert g == sorted(g)  # the given order holds within a lane


def test_chaos_run_refuses_a_negative_clean_phase() -> None:
    proc = _firebreak("chaos", "run", "feature-drift", "--clean-requests", "-5", timeout=60)
    assert proc.returncode == 2
    assert "--clean-requests" in proc.stderr and "greater than or equal to 0" in proc.stderr
