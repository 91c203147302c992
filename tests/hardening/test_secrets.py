"""Planted secrets never reach an output.

Secrets are planted in the config (notifier keys, gateway upstream key, redaction salt,
approval HMAC key), in request headers (API tokens, valid and invalid) and in prompts
(provider keys, our own tokens). Then every output is searched: the structured logs
(structlog's capture_logs plus the process's stdout/stderr), stored events, the incident
timeline, the report in every format, error messages, /metrics and the settings dump.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from firebreak.api.app import create_app
from firebreak.config import masked
from firebreak.runtime import Runtime
from firebreak.store.incidents import Incident, create_incident
from firebreak.store.tokens import create_token
from spine.shared import BOOT_TOKEN, LiveServer, make_settings

PLANTED = {
    "slack": "https://hooks.slack.invalid/services/T000/B000/PLANTEDslackSECRET",
    "pagerduty": "PLANTEDpagerdutyROUTINGkey0001",
    "upstream": "sk-proj-PLANTEDupstreamKEY0000000000000000",
    "salt": "PLANTEDredactionSALT",
    "approval": "PLANTEDapprovalHMACkey",
    "prompt_key": "sk-proj-PLANTEDpromptKEY00000000000000000",
    "prompt_aws": "AKIAPLANTEDAWSKEY123",
    "bad_token": "fbk_PLANTEDinvalidTOKENvalue000000",
}


@pytest.fixture
def planted(sqlite_url: str) -> Any:
    cfg = make_settings(
        sqlite_url,
        notifiers={"slack": {"webhook_url": PLANTED["slack"]},
                   "pagerduty": {"routing_key": PLANTED["pagerduty"],
                                 "url": "http://127.0.0.1:9/enqueue"}},
        gateway={"api_key": PLANTED["upstream"]},
        redaction={"salt": PLANTED["salt"]},
        playbooks={"approval_secret": PLANTED["approval"]},
        api={"rate_limit_per_second": 0})
    runtime = Runtime.open(cfg)
    with LiveServer(create_app(cfg, runtime=runtime)) as server:
        yield server.url, runtime, cfg


def _outputs(url: str, runtime: Runtime, headers: dict[str, str]) -> dict[str, str]:
    """Drive the app with the planted secrets, then collect everything it shows."""
    ingest_secret, _ = create_token(runtime.db, name="ingest", scopes=["ingest"])
    planted_tokens = {"ingest_token": ingest_secret}
    prompt = f"my key is {PLANTED['prompt_key']} and {PLANTED['prompt_aws']}, fix it"
    out: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=30) as http:
        ing = {"Authorization": f"Bearer {ingest_secret}"}
        r = http.post("/v1/events", headers=ing, json=[
            {"kind": "llm.call", "event_id": "s1", "deployment": "bot", "model": "m",
             "messages": [{"role": "user", "content": prompt}], "response": prompt},
            {"kind": "llm.call", "event_id": PLANTED["prompt_key"], "deployment": 5}])
        out["ingest answer"] = r.text
        out["bad token"] = http.get("/v1/incidents", headers={
            "Authorization": f"Bearer {PLANTED['bad_token']}"}).text
        out["ingest token on a read route"] = http.get("/v1/incidents", headers=ing).text
        out["bad json"] = http.post("/v1/events", headers=ing,
                                    content=f'[{{"x": "{PLANTED["prompt_key"]}"').text
        now = datetime.now(UTC)
        create_incident(runtime.db, Incident(
            id="inc-secret", deployment="bot", category="prompt_injection", severity="SEV2",
            status="detected", title="planted", opened_at=now, updated_at=now,
            facts={"sample": "see events"}))
        http.post("/v1/incidents/inc-secret/ack", headers=headers,
                  json={"comment": "looking"})
        out["events"] = http.get("/v1/events", headers=headers, params={"limit": 50}).text
        out["incident"] = http.get("/v1/incidents/inc-secret", headers=headers).text
        for fmt in ("json", "md", "html"):
            out[f"report.{fmt}"] = http.get("/v1/incidents/inc-secret/report", headers=headers,
                                            params={"format": fmt}).text
        out["metrics"] = http.get("/metrics", headers=headers).text
        out["policy"] = http.get("/v1/policy", headers=headers).text
    return out | {"tokens": str(planted_tokens)}


def test_planted_secrets_reach_no_output(planted: Any, capfd: pytest.CaptureFixture[str]
                                         ) -> None:
    url, runtime, cfg = planted
    headers = {"Authorization": f"Bearer {BOOT_TOKEN}"}
    with capture_logs() as logs:
        outputs = _outputs(url, runtime, headers)
    ingest_token = outputs.pop("tokens").split("'")[3]
    captured = capfd.readouterr()
    outputs["structlog"] = repr(logs)
    outputs["stdout+stderr"] = captured.out + captured.err
    outputs["settings dump"] = repr(masked(cfg))
    assert "llm.call" in outputs["events"] and "inc-secret" in outputs["report.json"]
    secrets = {**PLANTED, "ingest_token": ingest_token, "bootstrap": BOOT_TOKEN}
    leaks = [f"{name} in {where}" for where, text in outputs.items()
             for name, value in secrets.items() if value in text]
    assert not leaks, leaks
    assert any(logs), "no log lines captured: the search would prove nothing"
