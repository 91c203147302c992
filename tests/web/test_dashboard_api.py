"""The dashboard's login, pages and JSON over a real server (no browser)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from firebreak.runtime import Runtime
from firebreak.store.policy import Block, update_policy

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_pages_redirect_to_login_and_json_needs_a_token(live_api: tuple[str, Runtime]) -> None:
    url, _ = live_api
    with httpx.Client(base_url=url) as anon:
        page = anon.get("/ui/incidents")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/ui/incidents"
        assert anon.get("/login").status_code == 200
        data = anon.get("/ui/api/incidents")
        assert data.status_code == 401
        assert data.json()["status"] == 401


def test_login_sets_an_httponly_cookie_and_refuses_bad_tokens(
        live_api: tuple[str, Runtime], admin_headers: dict[str, str]) -> None:
    url, _ = live_api
    token = admin_headers["Authorization"].split()[1]
    with httpx.Client(base_url=url) as anon:
        bad = anon.post("/login", content="token=nope&next=/ui", headers=FORM)
        assert bad.status_code == 303 and "error=" in bad.headers["location"]
        assert "firebreak_token" not in anon.cookies
        evil = anon.post("/login", content=f"token={token}&next=https://evil.example/",
                         headers=FORM)
        assert evil.headers["location"] == "/ui"  # never an open redirect
        cookie = evil.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert anon.get("/ui/api/incidents").status_code == 200
        assert anon.get("/ui").status_code == 200
        anon.post("/logout")
        assert anon.get("/ui/api/incidents").status_code == 401


def test_overview_series_come_from_stored_events(
        live_api: tuple[str, Runtime], client: httpx.Client, fb: Any) -> None:
    _, runtime = live_api
    # 40 calls over 10 minutes: every 4th an injection, every 10th an error.
    fb.ingest(client, runtime.db, fb.traffic("support-bot", 40, inject_every=4, error_every=10))
    data = client.get("/ui/api/overview", params={"window": "15m"}).json()
    [dep] = data["deployments"]
    totals, series = dep["health"]["totals"], dep["health"]["series"]
    assert dep["name"] == "support-bot"
    assert totals["calls"] == 40
    assert totals["injection_rate"] == pytest.approx(10 / 40)
    assert totals["error_rate"] == pytest.approx(4 / 40)
    assert len(series["traffic"]) == 40
    assert sum(series["traffic"]) * dep["health"]["step_seconds"] / 60 == pytest.approx(40, abs=0.1)
    assert max(v for v in series["latency_p95"] if v is not None) >= 1000


def test_incident_filters_and_detail_with_policy(
        live_api: tuple[str, Runtime], client: httpx.Client, fb: Any) -> None:
    _, runtime = live_api
    a = fb.open_incident(runtime.db, "support-bot")
    fb.open_incident(runtime.db, "credit-risk", facts={"x": 1})
    update_policy(runtime.db, "support-bot",
                  lambda p: p.model_copy(update={"blocked_api_keys": [Block(value="key-9")]}),
                  actor="test", reason="block attacker", incident_id=a.id)
    assert client.get("/ui/api/incidents").json()["count"] == 2
    only = client.get("/ui/api/incidents", params={"deployment": "support-bot"}).json()
    assert [i["id"] for i in only["incidents"]] == [a.id]
    assert client.get("/ui/api/incidents", params={"severity": "SEV1"}).json()["count"] == 0
    detail = client.get(f"/ui/api/incidents/{a.id}").json()
    assert detail["timeline"][0]["kind"] == "status"
    assert detail["policies"][0]["version"] == 1
    assert detail["policies"][0]["blocked_api_keys"][0]["value"] == "key-9"
    assert detail["policy_changes"][0]["reason"] == "block attacker"


def test_bad_input_gets_a_problem_not_a_500(client: httpx.Client) -> None:
    bad = client.get("/ui/api/overview", params={"window": "2y"})
    assert bad.status_code == 422 and "window" in bad.text
    missing = client.get("/ui/api/incidents/inc-nope")
    assert missing.status_code == 404 and "inc-nope" in missing.json()["detail"]
    assert client.get("/ui/static/..%2F__init__.py").status_code == 404
    assert client.get("/ui/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/nope").status_code == 404


def test_responses_carry_a_request_id(client: httpx.Client) -> None:
    mine = client.get("/ui/api/incidents", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    fresh = client.get("/ui/api/incidents", headers={"X-Request-ID": "bad id; drop table"})
    assert len(fresh.headers["x-request-id"]) == 32


def test_runs_show_recorded_and_pending_steps(
        live_api: tuple[str, Runtime], client: httpx.Client, fb: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from firebreak.store.playbooks import create_run, record_step

    _, runtime = live_api
    inc = fb.open_incident(runtime.db, "support-bot")
    definition = {"steps": [
        {"id": "contain", "parallel": [{"id": "block", "action": "gateway.block"},
                                       {"id": "strict", "action": "gateway.guard_mode"}]},
        {"id": "ok", "approval": {"role": "oncall"}},
        {"id": "report", "action": "forensics.report"}]}
    run = create_run(runtime.db, incident_id=inc.id, playbook="p", definition=definition,
                     dry_run=False, owner="elsewhere",
                     lease_until=datetime.now(UTC) + timedelta(hours=1))
    assert run is not None
    record_step(runtime.db, run.id, "block", status="succeeded", action="gateway.block")
    record_step(runtime.db, run.id, "ok", status="waiting")
    [shown] = client.get("/ui/api/runs", params={"incident_id": inc.id}).json()["runs"]
    steps = {s["step_key"]: s for s in shown["steps"]}
    assert list(steps) == ["block", "strict", "ok", "report"]
    assert [steps[k]["status"] for k in steps] == ["succeeded", "pending", "waiting", "pending"]
    assert steps["ok"]["approval"] == {"role": "oncall"}
    assert client.get("/ui/api/silences").json() == {"silences": []}
