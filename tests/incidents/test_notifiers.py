"""Each notifier against a local stand-in that checks the service's documented shape."""

from __future__ import annotations

import asyncio
import socket
import time
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from firebreak.incidents import lifecycle
from firebreak.incidents.delivery import Deliverer, enqueue_notification, list_notifications
from firebreak.incidents.notifiers import factories
from firebreak.incidents.observations import from_signal
from firebreak.incidents.pipeline import Pipeline
from firebreak.store import open_database
from firebreak.store.db import Database
from firebreak.store.incidents import list_incidents, timeline

from .conftest import FakeClock, free_port_smtp, settings_for, signal
from .services import ROUTING_KEY, Services

APPROVAL = "http://firebreak.local/approvals/run-1/approve?sig=abc123"


@pytest.fixture
def world(sqlite_url: str, clock: FakeClock, services: tuple[str, Services]) -> Any:
    url, svc = services
    settings = settings_for(sqlite_url, url)
    db = open_database(sqlite_url)
    Pipeline(db, settings.incidents, clock).observe(
        from_signal(signal(category="prompt_injection", share=0.3, ts=clock())))
    (inc,) = list_incidents(db)
    yield db, settings, inc, svc
    db.dispose()


async def drain(db: Database, deliverer: Deliverer, rounds: int = 5) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(rounds):
            await deliverer.deliver_due(client)


def test_builtins_are_registered_under_the_entry_point_group() -> None:
    assert {"slack", "pagerduty", "email", "webhook", "thehive"} <= set(factories())


async def test_slack_block_kit_with_approval_link(world: Any, clock: FakeClock) -> None:
    db, settings, inc, svc = world
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="slack",
                         params={"event": "approval", "approval_url": APPROVAL})
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="slack", form="executive")
    await drain(db, Deliverer(db, settings.notifiers, clock=clock))
    assert svc.refused == []
    eng, exe = svc.received["slack"]
    assert eng["blocks"][0]["type"] == "header" and inc.id in eng["blocks"][0]["text"]["text"]
    buttons = eng["blocks"][-1]["elements"]
    assert buttons[0]["url"] == APPROVAL
    body = exe["blocks"][2]["text"]["text"]
    assert "Impact:" in body and "30% of bot traffic" in body and "Next update: by" in body
    assert "OWASP: LLM01:2025" in eng["blocks"][2]["text"]["text"]
    assert [n["status"] for n in list_notifications(db)] == ["sent", "sent"]
    assert sum(e.kind == "notify" for e in timeline(db, inc.id)) == 2


async def test_pagerduty_trigger_acknowledge_resolve(world: Any, clock: FakeClock) -> None:
    db, settings, inc, svc = world
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="pagerduty",
                         params={"event": "opened", "approval_url": APPROVAL})
    lifecycle.acknowledge(db, inc.id, actor="alice")
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="pagerduty",
                         params={"event": "acknowledged"})
    lifecycle.resolve(db, inc.id, actor="alice")
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="pagerduty",
                         params={"event": "resolved"})
    await drain(db, Deliverer(db, settings.notifiers, clock=clock))
    assert svc.refused == []
    events = svc.received["pagerduty"]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {inc.id}
    assert all(e["routing_key"] == ROUTING_KEY for e in events)
    payload = events[0]["payload"]
    assert payload["severity"] == "critical" and payload["class"] == "prompt_injection"
    assert events[0]["links"][0]["href"] == APPROVAL
    assert "payload" not in events[1] and "payload" not in events[2]


async def test_thehive_alert_and_signed_webhook(world: Any, clock: FakeClock) -> None:
    db, settings, inc, svc = world
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="thehive")
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="webhook",
                         params={"approval_url": APPROVAL})
    await drain(db, Deliverer(db, settings.notifiers, clock=clock))
    assert svc.refused == []
    (alert,) = svc.received["thehive"]
    assert alert["severity"] == 4 and "LLM01:2025" in alert["tags"]
    assert alert["sourceRef"].startswith("ntf-")
    (hook,) = svc.received["webhook"]
    assert hook["incident"]["id"] == inc.id and hook["approval_url"] == APPROVAL


async def test_bad_signature_secret_is_refused_and_dead_lettered(world: Any,
                                                                 clock: FakeClock) -> None:
    db, settings, inc, svc = world
    settings.notifiers.webhook.secret = None  # unsigned: the receiver answers 400
    nid = enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="webhook")
    await drain(db, Deliverer(db, settings.notifiers, clock=clock))
    assert svc.received["webhook"] == [] and svc.refused[0][1][0] == "signature"
    (dead,) = list_notifications(db, status="dead")
    assert dead["id"] == nid and "400" in dead["last_error"] and dead["attempts"] == 1


async def test_email_reaches_a_real_smtp_server(world: Any, clock: FakeClock) -> None:
    db, settings, inc, _ = world
    got: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            got.append(envelope.content)
            return "250 OK"

    port = free_port_smtp()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.notifiers.smtp.host, settings.notifiers.smtp.port = "127.0.0.1", port
        settings.notifiers.smtp.to = ["oncall@example.com"]
        enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="email",
                             form="executive", params={"approval_url": APPROVAL})
        await drain(db, Deliverer(db, settings.notifiers, clock=clock))
    finally:
        controller.stop()
    (raw,) = got
    mail = message_from_bytes(raw)
    assert mail["To"] == "oncall@example.com" and inc.id in mail["Subject"]
    text = mail.get_payload(decode=True).decode()
    assert "Impact:" in text and APPROVAL in text


async def test_enqueue_is_idempotent_and_validates(world: Any, clock: FakeClock) -> None:
    from firebreak.errors import ValidationFailed

    db, _, inc, _ = world
    a = enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="slack",
                             idempotency_key="k1")
    b = enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="slack",
                             idempotency_key="k1")
    assert a == b and len(list_notifications(db)) == 1
    with pytest.raises(ValidationFailed) as err:
        enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="carrier-pigeon")
    assert err.value.field == "notifier"
    with pytest.raises(ValidationFailed):
        enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="slack", form="poem")


async def test_delivery_never_blocks_the_loop(world: Any, clock: FakeClock) -> None:
    db, settings, inc, _ = world
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never greets: SMTP hangs
    settings.notifiers.smtp.host = "127.0.0.1"
    settings.notifiers.smtp.port = silent.getsockname()[1]
    settings.notifiers.smtp.to = ["x@example.com"]
    settings.notifiers.timeout_seconds = 1.0
    enqueue_notification(db, now=clock(), incident_id=inc.id, notifier="email")
    deliverer = Deliverer(db, settings.notifiers, clock=clock, poll_seconds=0.01)
    deliverer.start()
    ticks = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < 1.0:
            await asyncio.sleep(0.01)
            ticks += 1
    finally:
        await deliverer.stop()
        silent.close()
    assert ticks >= 10  # a blocked loop would manage one or two
