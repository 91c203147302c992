"""The scaled topology of issue #12 as separate processes (2 API replicas, 3 workers,
2 engines, 2 gateways on NATS JetStream, PostgreSQL and Redis) takes a replayed event
stream plus the calls the gateways report; its profiles, signals, incidents and playbook
runs equal those of the embedded default on the same stream."""

from __future__ import annotations

import asyncio
import importlib
import time
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import LiveServer, make_settings
from firebreak.ingest.service import ingest_and_publish
from firebreak.runtime import STAGES, Runtime
from firebreak.store import Database
from firebreak.store.alerting import SignalRow
from firebreak.store.events import EventFilter, load_events
from firebreak.store.incidents import IncidentRow
from firebreak.store.models import EventRow
from firebreak.store.monitor import ProfileRow
from firebreak.store.playbooks import RunRow

from .scaletools import (
    BOOT_TOKEN,
    aligned_now,
    all_ready,
    auth,
    need_service,
    replay_stream,
    write_config,
)

APIS, WORKERS, ENGINES, GATEWAYS = 2, 3, 2, 2
MONITOR = {"window_seconds": 1, "grace_seconds": 8, "tick_seconds": 0.3}
ERRORS = [1, 1, 1, 1, 30, 30]  # error_rate fires on the last two windows
CALLS = 10  # chat requests through each gateway, reported as llm.call events
GATEWAY_DEPLOYMENT = "gw.bot"


def outcome(db: Database) -> dict[str, Any]:
    """What the loop produced, without ids and wall-clock stamps."""
    with db.session() as s:
        profiles = [(r.deployment, r.window_start.timestamp(), r.events) for r in s.scalars(
            select(ProfileRow).order_by(ProfileRow.deployment, ProfileRow.window_start))]
        signals = sorted((r.detector, r.status, r.metric, r.fingerprint, round(r.value, 9),
                          r.ts.timestamp()) for r in s.scalars(select(SignalRow)))
        incidents = sorted((r.category, r.severity, r.title)
                           for r in s.scalars(select(IncidentRow)))
        runs = sorted((r.playbook, r.status) for r in s.scalars(select(RunRow)))
    return {"profiles": profiles, "signals": signals, "incidents": incidents, "runs": runs}


async def embedded(url: str, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    rt = Runtime.open(make_settings(url, plugins={"monitor": MONITOR},
                                    playbooks={"dry_run": True}))
    await rt.start()
    for batch in batches:
        await ingest_and_publish(rt, batch)
    await rt.bus.drain()
    monitor = next(s for s in rt.stages if s.name == "monitor")
    await monitor.flush(None)  # type: ignore[attr-defined]
    await rt.bus.drain()
    want = await _settled(rt.db, None, 10)  # playbook runs finish in the engine's loop
    await rt.stop()
    return want


async def _settled(db: Database, want: dict[str, Any] | None, timeout: float
                   ) -> dict[str, Any]:
    """The outcome once it equals `want` (or, without `want`, stops changing)."""
    deadline = time.monotonic() + timeout
    got = outcome(db)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if want is not None and got == want:
            return got
        previous, got = got, outcome(db)
        if want is None and got == previous and all(r[1] != "running" for r in got["runs"]):
            return got
    return got


def upstream_app() -> Starlette:
    """The LLM behind the gateways: a fixed chat completion."""
    answer = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "Paris."}}],
              "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}

    async def chat(_request: Request) -> JSONResponse:
        return JSONResponse(answer)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def warm_stages() -> None:
    """Import the embedded default's stages and plugins (as its first start would)."""
    for path in STAGES:
        importlib.import_module(path.split(":")[0])
    for ep in entry_points(group="firebreak.detectors"):
        importlib.import_module(ep.value.split(":")[0])


def _stored(db: Database, deployment: str) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(EventRow)
                            .where(EventRow.deployment == deployment)) or 0)


@pytest.mark.slow
async def test_scaled_topology_equals_embedded(pg_url: str, prefix: str, shared_nats: str,
                                               roles: Any, sqlite_url: str,
                                               tmp_path: Path) -> None:
    need_service(6379, "Redis")
    with LiveServer(upstream_app()) as upstream:
        config = write_config(
            tmp_path / "firebreak.yaml", database_url=pg_url, bootstrap_token=BOOT_TOKEN,
            log_level="warning", plugins={"monitor": MONITOR}, playbooks={"dry_run": True},
            redis_url="redis://127.0.0.1:6379/0",
            bus={"kind": "jetstream", "url": shared_nats, "prefix": prefix, "ack_wait": 5},
            gateway={"upstream": upstream.url + "/v1", "default_deployment": GATEWAY_DEPLOYMENT,
                     "ingest_token": BOOT_TOKEN, "scanners": []})
        # Every process starts at once (forked by the warm launcher); then wait on /healthz.
        apis = [roles(config, "api") for _ in range(APIS)]
        others = ([roles(config, "worker") for _ in range(WORKERS)]
                  + [roles(config, "engine") for _ in range(ENGINES)])
        gateways = [roles(config, "gateway", FIREBREAK_GATEWAY__CONTROL_PLANE_URL=api.url)
                    for api in apis]  # each gateway reports to its own API replica
        warm_stages()  # this process's embedded run imports them anyway: overlap with boot
        all_ready(apis + others + gateways)
        # Event times end now and windows close `grace` seconds after their end, so nothing
        # closes before the whole stream is in, on either topology.
        batches = replay_stream("shop.bot", aligned_now() - timedelta(seconds=6), 6, 60, ERRORS)
        async with httpx.AsyncClient(timeout=30, headers=auth()) as http:
            for i, batch in enumerate(batches):  # round robin over the API replicas
                r = await http.post(f"{apis[i % APIS].url}/v1/events", json=batch)
                assert r.status_code == 200, r.text
                assert r.json()["accepted"] == len(batch)
            body = {"model": "m", "messages": [{"role": "user", "content": "Capital of France?"}]}
            for i in range(CALLS * GATEWAYS):
                r = await http.post(f"{gateways[i % GATEWAYS].url}/v1/chat/completions", json=body)
                assert r.status_code == 200, r.text
        db = Database(pg_url)
        deadline = time.monotonic() + 20
        while _stored(db, GATEWAY_DEPLOYMENT) < CALLS * GATEWAYS:  # reported in the background
            assert time.monotonic() < deadline, "the gateways' llm.call events never arrived"
            await asyncio.sleep(0.2)
    # The stream both topologies take: the replay plus the calls the gateways reported.
    reported = [e.model_dump(mode="json") for e in
                load_events(db, EventFilter(deployment=GATEWAY_DEPLOYMENT))]
    assert len(reported) == CALLS * GATEWAYS
    want = await embedded(sqlite_url, [*batches, reported])
    assert len(want["signals"]) == 2 and len(want["incidents"]) == 1
    assert {d for d, _, _ in want["profiles"]} == {"shop.bot", GATEWAY_DEPLOYMENT}
    got = await _settled(db, want, 40)
    db.dispose()
    assert got == want
