"""`firebreak gateway --workers N`: several processes on one port stay one gateway.

A policy change reaches every worker within a second, streams still arrive chunk by
chunk, rate limits are shared (Redis), and without Redis the command refuses to start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from conftest import free_port
from firebreak.store import Database
from firebreak.store.policy import GuardPolicy, RateLimit, update_policy
from scale.scaletools import need_service

from .stub import Stub, chunk_arrivals

GATEWAY = [sys.executable, "-c", "from firebreak.cli import main; main()", "gateway"]
REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Workers:
    url: str
    pids: set[int]


def _health(url: str) -> dict:  # type: ignore[type-arg]
    # a fresh connection each time, so that any worker may take it
    with httpx.Client(timeout=5) as client:
        return client.get(f"{url}/healthz").json()  # type: ignore[no-any-return]


@pytest.fixture
def workers(sqlite_url: str, stub: Stub, gw_db: Database) -> Iterator[Workers]:
    """`firebreak gateway --workers 2` in front of the stub (Redis only names the buckets)."""
    need_service(6379, "Redis")
    port = free_port()
    env = {**os.environ, "FIREBREAK_DATABASE_URL": sqlite_url, "FIREBREAK_REDIS_URL": REDIS,
           "FIREBREAK_BUS__PREFIX": f"fbt{uuid.uuid4().hex[:8]}",
           "FIREBREAK_LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([*GATEWAY, "--workers", "2", "--upstream", stub.url,  # type: ignore[attr-defined]
                             "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 90
        while len(pids) < 2:  # both workers up and answering
            assert proc.poll() is None, "the gateway exited"
            assert time.monotonic() < deadline, f"workers seen: {pids}"
            try:
                pids.add(_health(url)["worker"])
            except httpx.TransportError:
                time.sleep(0.2)
        yield Workers(url, pids)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _set(db: Database, deployment: str, change) -> int:  # type: ignore[no-untyped-def]
    def apply(p: GuardPolicy) -> GuardPolicy:
        change(p)
        return p
    return update_policy(db, deployment, apply, actor="test").version


def _all_workers_at(w: Workers, deployment: str, version: int, limit: float = 1.0) -> float:
    """Seconds until every worker reports `version` for `deployment`; fails past `limit`."""
    t0 = time.monotonic()
    behind = set(w.pids)
    while behind:
        h = _health(w.url)
        if h["policy_versions"].get(deployment, 0) >= version:
            behind.discard(h["worker"])
        elapsed = time.monotonic() - t0
        assert elapsed <= limit or not behind, f"workers {behind} behind after {elapsed:.2f}s"
    return time.monotonic() - t0


def _chat(url: str, key: str = "k1", **extra: object) -> httpx.Response:
    with httpx.Client(timeout=10) as client:  # fresh connection: any worker
        return client.post(f"{url}/v1/chat/completions",
                           headers={"Authorization": f"Bearer {key}"},
                           json={"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                 **extra})


def test_policy_change_reaches_every_worker_within_a_second(workers: Workers, stub: Stub,
                                                            gw_db: Database) -> None:
    version = _set(gw_db, "default", lambda p: setattr(p, "kill_switch", True))
    _all_workers_at(workers, "default", version)
    before = len(stub.requests)
    assert all(_chat(workers.url).headers.get("x-firebreak-action") == "killed"
               for _ in range(8))
    assert len(stub.requests) == before
    version = _set(gw_db, "default", lambda p: setattr(p, "kill_switch", False))
    _all_workers_at(workers, "default", version)
    assert _chat(workers.url).status_code == 200


def test_streams_through_workers_arrive_chunk_by_chunk(workers: Workers, stub: Stub) -> None:
    stub.pause, stub.chunks = 0.2, 5
    for _ in range(3):  # fresh connections: more than one worker relays
        arrivals = chunk_arrivals(workers.url, "count to five")
        assert len(arrivals) >= 5
        assert arrivals[-1] - arrivals[0] > 0.6  # nothing buffered whole


def test_rate_limit_is_shared_by_the_workers(workers: Workers, gw_db: Database) -> None:
    version = _set(gw_db, "*", lambda p: p.rate_limits.append(
        RateLimit(scope="api_key", rate=0.001, burst=3)))
    _all_workers_at(workers, "*", version)
    codes = [_chat(workers.url, key="shared-key").status_code for _ in range(12)]
    # per-worker buckets would let up to 3 through on each worker
    assert codes.count(200) == 3 and codes.count(429) == 9


def test_metrics_add_up_every_worker(workers: Workers) -> None:
    for _ in range(10):
        assert _chat(workers.url, key="m-key").status_code == 200
    with httpx.Client(timeout=5) as client:
        text = client.get(f"{workers.url}/metrics").text
    line = next(x for x in text.splitlines() if x.startswith(
        'firebreak_gateway_requests_total{deployment="default",outcome="ok"}'))
    assert float(line.split()[-1]) == 10


def test_workers_without_redis_refused(sqlite_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FIREBREAK_REDIS_URL"}
    env["FIREBREAK_DATABASE_URL"] = sqlite_url
    out = subprocess.run([*GATEWAY, "--workers", "2", "--upstream", "http://127.0.0.1:9/v1",
                          "--port", str(free_port())], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "--workers 2" in out.stderr and "redis_url" in out.stderr
    assert "Traceback" not in out.stderr
