"""The control API for the guard policy: scopes, operations, history, clear errors."""

from __future__ import annotations

import httpx

from firebreak.runtime import Runtime
from firebreak.store.policy import get_policy
from firebreak.store.tokens import create_token


def test_operations_are_versioned_with_history(client: httpx.Client,
                                               live_api: tuple[str, Runtime]) -> None:
    _, runtime = live_api
    r = client.patch("/v1/policy/support-bot", json={"reason": "INC-7", "ops": [
        {"op": "block", "kind": "api_key", "value": "key_abc", "ttl_seconds": 3600},
        {"op": "throttle", "scope": "user", "rate": 2, "burst": 4},
        {"op": "quarantine", "source": "pastebin/x"},
        {"op": "mode", "mode": "strict"},
        {"op": "route", "routes": [{"model": "m-v1", "weight": 9}, {"model": "m-v2", "weight": 1}]},
        {"op": "thresholds", "thresholds": {"injection": 0.7}}]})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["mode"] == "strict"
    stored = get_policy(runtime.db, "support-bot")
    assert stored.blocked_api_keys[0].value == "key_abc" and stored.blocked_api_keys[0].expires_at
    assert stored.quarantined_sources[0].value == "pastebin/x"
    assert [x.model for x in stored.routes] == ["m-v1", "m-v2"]
    r = client.patch("/v1/policy/support-bot", json={"ops": [
        {"op": "unblock", "kind": "api_key", "value": "key_abc"},
        {"op": "kill_switch", "on": True, "safe_message": "Back soon."}]})
    assert r.json()["version"] == 2 and r.json()["blocked_api_keys"] == []
    history = client.get("/v1/policy/support-bot/history").json()
    assert [h["version"] for h in history] == [2, 1] and history[1]["reason"] == "INC-7"
    assert client.get("/v1/policy/support-bot").json()["safe_message"] == "Back soon."
    assert [p["deployment"] for p in client.get("/v1/policy").json()] == ["support-bot"]


def test_put_replaces_the_policy(client: httpx.Client) -> None:
    r = client.put("/v1/policy/*", json={"mode": "block", "canary": "fbk-canary-feedface"})
    assert r.status_code == 200 and r.json()["deployment"] == "*" and r.json()["mode"] == "block"
    assert client.get("/v1/policy/*").json()["canary"] == "fbk-canary-feedface"


def test_scopes_and_bad_input(client: httpx.Client, live_api: tuple[str, Runtime]) -> None:
    url, runtime = live_api
    secret, _ = create_token(runtime.db, name="reader", scopes=["read"])
    reader = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{url}/v1/policy/x", headers=reader).status_code == 200
    r = httpx.patch(f"{url}/v1/policy/x", headers=reader,
                    json={"ops": [{"op": "mode", "mode": "block"}]})
    assert r.status_code == 403
    assert httpx.get(f"{url}/v1/policy").status_code == 401
    r = client.patch("/v1/policy/x", json={"ops": [{"op": "mode", "mode": "panic"}]})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert "mode" in r.json()["detail"]
    r = client.patch("/v1/policy/x", json={"ops": [{"op": "explode"}]})
    assert r.status_code == 422 and "op" in r.json()["detail"]
    r = client.patch("/v1/policy/x", json={"ops": [{"op": "throttle", "rate": -1}]})
    assert r.status_code == 422 and "rate" in r.json()["detail"]
