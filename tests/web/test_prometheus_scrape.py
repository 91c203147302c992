"""A real Prometheus (Debian package) scrapes /metrics with our deploy/ config and rules."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from firebreak.runtime import Runtime

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        if IN_CI:
            pytest.fail("the Debian package `prometheus` is required in CI and is missing")
        pytest.skip("Prometheus is not installed (apt-get install prometheus; mandatory in CI)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, target: str, token: str) -> Path:
    """Our example config, pointed at the test server, plus a job with a wrong token."""
    cfg = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (tmp / "token").write_text(token + "\n")
    (tmp / "wrong").write_text("fbk_not_a_token\n")
    shutil.copy(DEPLOY / "alerts.yml", tmp / "alerts.yml")
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    job = cfg["scrape_configs"][0]
    job["authorization"]["credentials_file"] = str(tmp / "token")
    job["static_configs"][0]["targets"] = [target]
    bad = {**job, "job_name": "wrong-token",
           "authorization": {"type": "Bearer", "credentials_file": str(tmp / "wrong")}}
    cfg["scrape_configs"].append(bad)
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def prometheus(live_api: tuple[str, Runtime], admin_headers: dict[str, str],
               tmp_path: Path) -> Iterator[str]:
    binary = _prometheus()
    url, _ = live_api
    port = _free_port()
    cfg = _config(tmp_path, url.removeprefix("http://"), admin_headers["Authorization"].split()[1])
    proc = subprocess.Popen(
        [binary, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, ValueError):  # not up yet: 503 "Service Unavailable" text
            pass
        if time.monotonic() > deadline:
            raise AssertionError("Prometheus did not get there in time")
        time.sleep(0.3)


def test_prometheus_scrapes_firebreak(prometheus: str, client: httpx.Client) -> None:
    client.get("/ui/api/incidents")  # some traffic for our counters

    def targets() -> dict[str, Any] | None:
        active = httpx.get(prometheus + "/api/v1/targets").json()["data"]["activeTargets"]
        by_job = {t["labels"]["job"]: t for t in active}
        done = len(by_job) == 2 and all(t["health"] != "unknown" for t in by_job.values())
        return by_job if done else None

    by_job = _wait(targets)
    assert by_job["firebreak"]["health"] == "up", by_job["firebreak"]["lastError"]
    assert by_job["wrong-token"]["health"] == "down"
    assert "401" in by_job["wrong-token"]["lastError"]

    def query() -> list[Any]:
        q = 'firebreak_http_requests_total{job="firebreak",route="/ui/api/incidents"}'
        return httpx.get(prometheus + "/api/v1/query", params={"query": q}).json()["data"]["result"]

    result = _wait(query)
    assert float(result[0]["value"][1]) >= 1
    rules = httpx.get(prometheus + "/api/v1/rules").json()["data"]["groups"]
    assert len(rules[0]["rules"]) == 11 and all(r["health"] != "err" for r in rules[0]["rules"])
