"""The results API over a real server: record, list, page and show red-team campaigns and
chaos runs; scopes; clear refusals of bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from firebreak.runtime import Runtime
from firebreak.store.tokens import create_token

CAMPAIGN = {
    "suite": "owasp-llm", "target": "http://127.0.0.1:9/v1", "started_at": "2026-11-25T21:00:00Z",
    "finished_at": "2026-11-25T21:00:07Z",
    "per_category": {"direct-injection": {"attempts": 20, "successes": 2, "blocked": 17},
                     "jailbreak-roleplay": {"attempts": 10, "successes": 6, "blocked": 1,
                                            "errors": 1}},
    "per_converter": {"none": {"attempts": 18, "successes": 3, "blocked": 14},
                      "base64": {"attempts": 12, "successes": 5, "blocked": 4}},
    "benign_attempts": 4, "benign_answered": 3,
    "probes": [{"id": "di-1", "attack": "direct-injection", "outcome": "success",
                "reason": "goal string in the answer", "messages": [{"role": "user",
                                                                      "content": "hi"}]},
               {"id": "b-1", "attack": "benign", "outcome": "passed", "benign": True}],
}


def chaos_run(**overrides: Any) -> dict[str, Any]:
    scenarios = [
        {"scenario": "feature-drift", "detected": True, "category": "data_drift",
         "category_right": True, "time_to_detect_s": 12.0, "events_to_detect": 600,
         "time_to_contain_s": 0.4, "contained": True, "containment_right": True,
         "notifications": 2, "report_written": True, "passed": True,
         "policy": {"mode": "strict"}},
        {"scenario": "pii-leak", "detected": True, "category": "sensitive_information",
         "category_right": True, "time_to_detect_s": 20.0, "time_to_contain_s": 0.6,
         "containment_right": True, "notifications": 1, "report_written": True, "passed": True},
        {"scenario": "denial-of-wallet", "detected": False, "note": "no incident within 60s"},
    ]
    return {"profile": "fast", "started_at": "2026-11-25T21:00:00Z", "warmup_seconds": 20,
            "false_incidents": [], "traffic": {"chat:200": 5000}, "scenarios": scenarios,
            **overrides}


@pytest.fixture
def tokens(live_api: tuple[str, Runtime]) -> Iterator[dict[str, httpx.Client]]:
    url, runtime = live_api
    clients = {}
    for role in ("read", "operate"):
        secret, _ = create_token(runtime.db, name=f"results-{role}", scopes=[role])
        clients[role] = httpx.Client(base_url=url, timeout=30,
                                     headers={"Authorization": f"Bearer {secret}"})
    yield clients
    for c in clients.values():
        c.close()


def test_campaign_is_recorded_with_totals_from_its_categories(
        tokens: dict[str, httpx.Client]) -> None:
    made = tokens["operate"].post("/v1/redteam/campaigns", json=CAMPAIGN)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["recorded_by"] == "token:results-operate"
    assert (body["attack_attempts"], body["successes"], body["blocked"], body["errors"]) == (
        30, 8, 18, 1)
    assert body["success_rate"] == pytest.approx(8 / 30, abs=1e-4)
    assert body["benign_answered_rate"] == 0.75
    assert body["per_category"]["jailbreak-roleplay"]["success_rate"] == 0.6
    assert body["per_converter"]["base64"]["successes"] == 5
    assert body["probes"][0]["messages"][0]["content"] == "hi"  # the transcript is kept
    shown = tokens["read"].get(f"/v1/redteam/campaigns/{body['id']}").json()
    assert shown == body
    listed = tokens["read"].get("/v1/redteam/campaigns").json()
    assert [c["id"] for c in listed["campaigns"]] == [body["id"]]
    assert "probes" not in listed["campaigns"][0] and listed["next_before_id"] is None


def test_pages_newest_first_with_before_id(tokens: dict[str, httpx.Client]) -> None:
    ids = [tokens["operate"].post("/v1/chaos/runs", json=chaos_run()).json()["id"]
           for _ in range(5)]
    first = tokens["read"].get("/v1/chaos/runs", params={"limit": 2}).json()
    assert [r["id"] for r in first["runs"]] == ids[:-3:-1]
    second = tokens["read"].get("/v1/chaos/runs", params={
        "limit": 2, "before_id": first["next_before_id"]}).json()
    assert [r["id"] for r in second["runs"]] == [ids[2], ids[1]]
    last = tokens["read"].get("/v1/chaos/runs", params={
        "limit": 2, "before_id": second["next_before_id"]}).json()
    assert [r["id"] for r in last["runs"]] == [ids[0]] and last["next_before_id"] is None


def test_chaos_run_summary_is_computed_from_the_scenarios(
        tokens: dict[str, httpx.Client]) -> None:
    run = tokens["operate"].post("/v1/chaos/runs", json=chaos_run()).json()
    assert run["passed"] is False  # one scenario was not detected
    assert (run["scenario_count"], run["scenarios_passed"]) == (3, 2)
    assert run["median_time_to_detect_s"] == 16.0 and run["median_time_to_contain_s"] == 0.5
    assert run["scenarios"][0]["policy"] == {"mode": "strict"}  # extra fields are kept
    scenarios = [dict(s, passed=True, detected=True) for s in chaos_run()["scenarios"]]
    noisy = tokens["operate"].post("/v1/chaos/runs", json=chaos_run(
        scenarios=scenarios, false_incidents=["inc-1"])).json()
    assert noisy["passed"] is False and noisy["false_incident_count"] == 1
    clean = tokens["operate"].post("/v1/chaos/runs", json=chaos_run(scenarios=scenarios)).json()
    assert clean["passed"] is True
    assert tokens["read"].get(f"/v1/chaos/runs/{clean['id']}").json() == clean


def test_scopes_read_lists_operate_records(live_api: tuple[str, Runtime],
                                           tokens: dict[str, httpx.Client]) -> None:
    url, _ = live_api
    assert tokens["read"].post("/v1/redteam/campaigns", json=CAMPAIGN).status_code == 403
    assert tokens["read"].post("/v1/chaos/runs", json=chaos_run()).status_code == 403
    assert tokens["read"].get("/v1/chaos/runs").status_code == 200
    with httpx.Client(base_url=url) as anon:
        for path in ("/v1/redteam/campaigns", "/v1/chaos/runs", "/v1/chaos/runs/1"):
            assert anon.get(path).status_code == 401


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/redteam/campaigns", {**CAMPAIGN, "suite": ""}, "suite"),
    ("/v1/redteam/campaigns", {**CAMPAIGN, "per_category": {
        "x": {"attempts": 2, "successes": 3}}}, "per_category.x"),
    ("/v1/redteam/campaigns", {**CAMPAIGN, "benign_answered": 9}, "body"),
    ("/v1/redteam/campaigns", {**CAMPAIGN, "finished_at": "2026-11-25T20:00:00Z"}, "body"),
    ("/v1/chaos/runs", chaos_run(scenarios=[{"scenario": "x"}]), "scenarios.0.detected"),
    ("/v1/chaos/runs", chaos_run(warmup_seconds=-1), "warmup_seconds"),
])
def test_bad_input_names_the_field(tokens: dict[str, httpx.Client], path: str,
                                   body: dict[str, Any], field: str) -> None:
    resp = tokens["operate"].post(path, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == field
    assert resp.json()["errors"][0]["reason"]


def test_unknown_ids_are_404_problems(tokens: dict[str, httpx.Client]) -> None:
    for path in ("/v1/redteam/campaigns/4242", "/v1/chaos/runs/4242"):
        resp = tokens["read"].get(path)
        assert resp.status_code == 404 and "4242" in resp.json()["detail"]
    bad = tokens["read"].get("/v1/chaos/runs/0")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"]
