"""Fault: a notifier endpoint answers 500 for minutes. Delivery retries with backoff,
dead-letters what outlives `give_up_after_seconds`, and loses nothing: once the endpoint
is back, every message (the dead-lettered ones after a requeue) arrives exactly once.
A fake clock (the incidents stage's `clock=` hook) makes the minutes pass in seconds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from firebreak.config import NotifierSettings
from firebreak.incidents.delivery import (
    Deliverer,
    enqueue_notification,
    list_notifications,
    requeue,
)
from firebreak.store import open_database
from firebreak.store.incidents import Incident, create_incident
from spine.shared import LiveServer


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += timedelta(seconds=seconds)


class Flaky:
    """A webhook receiver that answers 500 until `healthy` is set."""

    def __init__(self) -> None:
        self.healthy = False
        self.failures = 0
        self.received: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        if not self.healthy:
            self.failures += 1
            return JSONResponse({"error": "boom"}, status_code=500)
        self.received.append(await request.json())
        return JSONResponse({"ok": True})


async def test_minutes_of_500s_then_everything_arrives_once(sqlite_url: str) -> None:
    flaky, clock = Flaky(), Clock()
    db = open_database(sqlite_url)
    with LiveServer(flaky.app) as server:
        settings = NotifierSettings(webhook={"url": server.url + "/hook"},
                                    backoff_initial_seconds=5, backoff_max_seconds=60,
                                    give_up_after_seconds=240, timeout_seconds=2)
        ids = []
        for n in range(3):
            create_incident(db, Incident(
                id=f"inc-n{n}", deployment="bot", category="availability", severity="SEV2",
                status="detected", title=f"outage {n}", opened_at=clock(), updated_at=clock()))
            ids.append(enqueue_notification(db, incident_id=f"inc-n{n}", notifier="webhook",
                                            now=clock(), params={"event": "opened"}))
        deliverer = Deliverer(db, settings, clock=clock)
        async with httpx.AsyncClient() as client:
            for _ in range(60):  # ten fake minutes of 500s, ten fake seconds a step
                await deliverer.deliver_due(client)
                clock.advance(10)
            statuses = {n["id"]: n["status"] for n in list_notifications(db)}
            assert flaky.failures >= 3 * 4, flaky.failures  # retried, with backoff
            assert flaky.failures < 3 * 60  # ... not on every tick
            assert set(statuses.values()) == {"dead"}, statuses
            assert flaky.received == []
            flaky.healthy = True
            late = enqueue_notification(db, incident_id="inc-n0", notifier="webhook",
                                        now=clock(), params={"event": "update"})
            for nid in ids:
                requeue(db, nid, now=clock())
            for _ in range(5):
                await deliverer.deliver_due(client)
                clock.advance(10)
    got = [m["notification_id"] for m in flaky.received]
    assert sorted(got) == sorted([*ids, late]) and len(got) == len(set(got))
    assert {n["status"] for n in list_notifications(db)} == {"sent"}
    db.dispose()
