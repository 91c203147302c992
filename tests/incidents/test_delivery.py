"""The durable queue: an endpoint down for two minutes gets everything once, in order."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from firebreak.config import NotifierSettings
from firebreak.incidents.delivery import (
    Deliverer,
    backoff,
    enqueue_notification,
    list_notifications,
    requeue,
)
from firebreak.incidents.observations import from_signal
from firebreak.incidents.pipeline import Pipeline
from firebreak.store import open_database
from firebreak.store.incidents import list_incidents

from .conftest import FakeClock, settings_for, signal
from .services import Services


async def test_endpoint_down_two_minutes_gets_every_message_once_in_order(
        sqlite_url: str, clock: FakeClock, services: tuple[str, Services]) -> None:
    url, svc = services
    settings = settings_for(sqlite_url, url, backoff_initial_seconds=1,
                            backoff_max_seconds=20)
    db = open_database(sqlite_url)
    pipe = Pipeline(db, settings.incidents, clock)
    for category in ("prompt_injection", "data_drift", "availability"):
        pipe.observe(from_signal(signal(category=category, ts=clock())))
    incidents = [i.id for i in list_incidents(db)]
    svc.down_until = clock() + timedelta(minutes=2)
    expected: dict[str, list[str]] = {i: [] for i in incidents}
    for n in range(4):
        for inc in incidents:
            expected[inc].append(enqueue_notification(
                db, incident_id=inc, notifier="webhook", now=clock(),
                params={"event": "update", "text": f"update {n}"}))
    deliverer = Deliverer(db, settings.notifiers, clock=clock, poll_seconds=0.005)
    deliverer.start()
    started = time.monotonic()
    try:
        while len(svc.received["webhook"]) < 12 and time.monotonic() - started < 30:
            clock.advance(1.0)  # one fake second every 5 ms of real time
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)  # a duplicate would show up here
    finally:
        await deliverer.stop()
        db.dispose()
    elapsed = time.monotonic() - started
    got = svc.received["webhook"]
    assert svc.outage_hits >= 3  # it really was down and retried
    ids = [m["notification_id"] for m in got]
    assert len(ids) == len(set(ids)) == 12  # every message, exactly once
    for inc in incidents:
        assert [m["notification_id"] for m in got if m["incident"]["id"] == inc] == expected[inc]
    assert elapsed < 20
    print(f"outage test: {elapsed:.2f}s real, {svc.outage_hits} refused attempts")


def test_backoff_doubles_and_is_capped() -> None:
    s = NotifierSettings(backoff_initial_seconds=2, backoff_max_seconds=60)
    assert [backoff(s, n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


async def test_dead_letter_after_give_up_and_requeue(sqlite_url: str, clock: FakeClock,
                                                     services: tuple[str, Services]) -> None:
    url, svc = services
    settings = settings_for(sqlite_url, url, give_up_after_seconds=30,
                            backoff_initial_seconds=5)
    db = open_database(sqlite_url)
    Pipeline(db, settings.incidents, clock).observe(from_signal(signal(ts=clock())))
    (inc,) = list_incidents(db)
    svc.down_until = clock() + timedelta(hours=1)
    nid = enqueue_notification(db, incident_id=inc.id, notifier="slack", now=clock())
    deliverer = Deliverer(db, settings.notifiers, clock=clock)
    import httpx

    async with httpx.AsyncClient() as client:
        for _ in range(10):
            await deliverer.deliver_due(client)
            clock.advance(10)
        (dead,) = list_notifications(db, status="dead")
        assert dead["id"] == nid and "503" in dead["last_error"]
        svc.down_until = None
        requeue(db, nid, now=clock())
        await deliverer.deliver_due(client)
    assert len(svc.received["slack"]) == 1
    assert list_notifications(db)[0]["status"] == "sent"
    db.dispose()
