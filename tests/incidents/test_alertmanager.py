"""A real Prometheus Alertmanager sends its webhook (version 4) to a live Firebreak API.

The binary comes from the Debian package prometheus-alertmanager (scripts/apt-packages.txt).
In CI a missing binary fails the test; elsewhere it is skipped with a message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import BOOT_TOKEN
from .root import IN_CI, free_port
from .test_api import ADMIN, wait_for

BINARIES = ("prometheus-alertmanager", "alertmanager")


def binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    if IN_CI:
        pytest.fail("prometheus-alertmanager is required in CI (scripts/apt-packages.txt)")
    pytest.skip("prometheus-alertmanager is not installed: apt-get install prometheus-alertmanager")


@pytest.fixture
def alertmanager(incident_api: Any, tmp_path: Path) -> Iterator[str]:
    api_url = incident_api[0]
    exe = binary()
    port = free_port()
    config = {
        "route": {"receiver": "firebreak", "group_by": ["alertname", "deployment"],
                  "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "firebreak", "webhook_configs": [{
            "url": f"{api_url}/v1/intake/alertmanager", "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": BOOT_TOKEN}}}]}],
    }
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    proc = subprocess.Popen(
        [exe, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
         "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _alert(ends: datetime | None = None) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    alert: dict[str, Any] = {
        "labels": {"alertname": "PromptInjectionSpike", "deployment": "support-bot",
                   "category": "prompt_injection", "severity": "critical"},
        "annotations": {"summary": "injection rate 12% > 2%", "traffic_share": "0.3"},
        "startsAt": (now - timedelta(seconds=5)).isoformat(),
        "generatorURL": "http://prometheus.local/graph"}
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return [alert]


def test_real_alertmanager_opens_and_resolves_through_the_receiver(
        incident_api: Any, alertmanager: str) -> None:
    api_url = incident_api[0]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=_alert()).status_code == 200
    with httpx.Client(base_url=api_url, headers=ADMIN, timeout=10) as c:
        (inc,) = wait_for(lambda: c.get("/v1/incidents").json(), timeout=20)
        assert inc["category"] == "prompt_injection" and inc["deployment"] == "support-bot"
        assert inc["severity"] == "SEV1"  # critical label and 30 % of traffic
        assert inc["taxonomy"]["owasp"] == ["LLM01:2025"]
        (alert,) = c.get(f"/v1/incidents/{inc['id']}").json()["alerts"]
        assert alert["source"] == "alertmanager" and alert["status"] == "firing"
        assert alert["annotations"]["generator_url"] == "http://prometheus.local/graph"
        # Resolve it in Alertmanager: send_resolved brings the resolution to Firebreak.
        ended = datetime.now(UTC) - timedelta(seconds=1)
        assert httpx.post(f"{alertmanager}/api/v2/alerts",
                          json=_alert(ends=ended)).status_code == 200
        wait_for(lambda: c.get(f"/v1/incidents/{inc['id']}").json()["alerts"][0]["status"]
                 == "resolved", timeout=20)
        assert len(c.get("/v1/incidents").json()) == 1
