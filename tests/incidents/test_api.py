"""The incidents stage in a live control plane: intake, API, bus changes, notifications."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from firebreak.store.tokens import create_token

from .conftest import BOOT_TOKEN

ADMIN = {"Authorization": f"Bearer {BOOT_TOKEN}"}


def wait_for(check: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def open_incident(c: httpx.Client, name: str = "HallucinationRateHigh") -> dict[str, Any]:
    r = c.post("/v1/intake/webhook", json={
        "name": name, "deployment": "support-bot", "severity": "warning",
        "category": "hallucination", "annotations": {"summary": "hallucination 9% > 3%",
                                                     "traffic_share": "12%"}})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    return wait_for(lambda: c.get("/v1/incidents").json())[0]


def test_webhook_alert_opens_incident_notifies_and_publishes(incident_api: Any) -> None:
    url, runtime, svc, published = incident_api
    with httpx.Client(base_url=url, headers=ADMIN, timeout=10) as c:
        inc = open_incident(c)
        assert inc["category"] == "hallucination" and inc["deployment"] == "support-bot"
        assert inc["taxonomy"]["owasp"] == ["LLM09:2025"]
        assert inc["facts"]["traffic_share"] == 0.12
        wait_for(lambda: svc.received["slack"])
        assert inc["id"] in svc.received["slack"][0]["blocks"][0]["text"]["text"]
        assert {"incident_id": inc["id"], "change": "opened"} in published
        detail = c.get(f"/v1/incidents/{inc['id']}").json()
        assert detail["alerts"][0]["name"] == "HallucinationRateHigh"
        kinds = [e["kind"] for e in detail["timeline"]]
        assert kinds[:3] == ["status", "severity", "alert"]
        wait_for(lambda: any(n["status"] == "sent" for n in
                             c.get("/v1/notifications").json()))


def test_lifecycle_through_the_api(incident_api: Any) -> None:
    url, runtime, _, published = incident_api
    with httpx.Client(base_url=url, headers=ADMIN, timeout=10) as c:
        inc = open_incident(c)
        iid = inc["id"]
        r = c.post(f"/v1/incidents/{iid}/ack", json={"actor": "alice"})
        assert r.status_code == 200 and r.json()["status"] == "triaged"
        assert r.json()["assignees"]["acknowledged_by"] == "alice"
        r = c.post(f"/v1/incidents/{iid}/assign",
                   json={"role": "incident_commander", "person": "bob"})
        assert r.json()["assignees"]["incident_commander"] == "bob"
        r = c.post(f"/v1/incidents/{iid}/assign", json={"role": "king", "person": "bob"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
        r = c.post(f"/v1/incidents/{iid}/severity", json={"severity": "SEV1",
                                                          "reason": "VIP customer"})
        assert r.json()["severity"] == "SEV1"
        r = c.post(f"/v1/incidents/{iid}/status", json={"status": "contained"})
        assert r.json()["status"] == "contained"
        r = c.post(f"/v1/incidents/{iid}/status", json={"status": "triaged"})
        assert r.status_code == 409 and "cannot move" in r.json()["detail"]
        r = c.post(f"/v1/incidents/{iid}/resolve", json={"note": "rolled back"})
        assert r.json()["status"] == "resolved" and r.json()["resolved_at"]
        timeline = c.get(f"/v1/incidents/{iid}").json()["timeline"]
        actors = {(e["kind"], e["actor"]) for e in timeline}
        assert ("ack", "alice") in actors and ("assign", "token:bootstrap") in actors
        assert any(e["kind"] == "severity" and "VIP" in e["message"] for e in timeline)
        assert c.get("/v1/incidents/inc-missing").status_code == 404
        assert c.get("/v1/incidents", params={"status": "resolved"}).json()[0]["id"] == iid
    wait_for(lambda: {"incident_id": iid, "change": "resolved"} in published)


def test_scopes(incident_api: Any) -> None:
    url, runtime, _, _ = incident_api
    reader, _ = create_token(runtime.db, name="viewer", scopes=["read"])
    with httpx.Client(base_url=url, headers=ADMIN, timeout=10) as c:
        iid = open_incident(c)["id"]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {reader}"}) as c:
        assert c.get(f"/v1/incidents/{iid}").status_code == 200
        assert c.get("/v1/notifications/dead-letter").status_code == 200
        assert c.post(f"/v1/incidents/{iid}/ack").status_code == 403
        assert c.post("/v1/silences", json={"matchers": []}).status_code == 403
        assert c.post("/v1/intake/webhook", json={"name": "x"}).status_code == 403
    assert httpx.get(f"{url}/v1/incidents").status_code == 401


def test_silences_api(incident_api: Any) -> None:
    url, _, svc, _ = incident_api
    with httpx.Client(base_url=url, headers=ADMIN, timeout=10) as c:
        r = c.post("/v1/silences", json={
            "matchers": [{"name": "deployment", "value": "support-bot"},
                         {"name": "alertname", "value": "Hallu.*", "isRegex": True}],
            "duration_seconds": 3600, "comment": "maintenance"})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        inc = open_incident(c)
        time.sleep(0.5)  # several ticks: nothing may be sent
        assert svc.received["slack"] == []
        timeline = c.get(f"/v1/incidents/{inc['id']}").json()["timeline"]
        assert any(e["kind"] == "alert" and e["data"].get("silenced") == sid for e in timeline)
        assert [s["state"] for s in c.get("/v1/silences").json()] == ["active"]
        assert c.delete(f"/v1/silences/{sid}").json()["id"] == sid
        assert c.get("/v1/silences", params={"state": "expired"}).json()[0]["id"] == sid
        wait_for(lambda: svc.received["slack"])  # unmuted: the group notifies now
        bad = c.post("/v1/silences", json={"matchers": [{"name": "a", "value": "(",
                                                         "isRegex": True}]})
        assert bad.status_code == 422 and "regex" in bad.json()["detail"]
        assert c.delete("/v1/silences/sil-nope").status_code == 404


def test_intake_refuses_bad_payloads_by_field(incident_api: Any) -> None:
    url, _, _, _ = incident_api
    with httpx.Client(base_url=url, headers=ADMIN, timeout=10) as c:
        r = c.post("/v1/intake/alertmanager", json={"version": "3", "alerts": []})
        assert r.status_code == 422
        fields = {e["field"] for e in r.json()["errors"]}
        assert {"version", "groupKey", "status", "receiver"} <= fields
        r = c.post("/v1/intake/webhook", json={"status": "exploded"})
        assert r.status_code == 422
