"""Fixtures for dashboard tests: headless Chromium through Playwright, traffic and incidents."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from firebreak.events import ExternalAlert, LLMCall, Verdict
from firebreak.store import Database
from firebreak.store.events import insert_events
from firebreak.store.incidents import Incident, create_incident, new_incident_id

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHOTS = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(scope="session", autouse=True)
def _warm_stage_imports() -> None:
    """Import every stage's module once, before a live server starts: on a loaded machine
    the first import of the heavy ones can outlast the server's start-up deadline."""
    from firebreak.runtime import STAGES

    for path in STAGES:
        importlib.import_module(path.partition(":")[0])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module (fails in CI when missing, skips elsewhere).

    Module scope: sync Playwright keeps an event loop running in this thread, which
    async tests collected later must not see.
    """
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if IN_CI:
            pytest.fail(f"headless Chromium ({CHROMIUM}) is required in CI and is missing")
        pytest.skip(f"headless Chromium ({CHROMIUM}) is not installed (mandatory in CI)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    ctx.close()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(exist_ok=True)
    return SHOTS


def traffic(deployment: str, n: int, *, minutes: float = 10, inject_every: int = 0,
            error_every: int = 0, ungrounded_every: int = 0,
            api_key: str = "key-1") -> list[LLMCall]:
    """`n` LLM calls spread over the last `minutes`, some flagged as injections or errors."""
    now = datetime.now(UTC)
    calls = []
    for i in range(n):
        verdicts = []
        if inject_every and i % inject_every == 0:
            verdicts.append(Verdict(scanner="injection", score=0.97, label="injection"))
        if ungrounded_every and i % ungrounded_every == 0:
            verdicts.append(Verdict(scanner="grounding", score=0.8, label="ungrounded"))
        calls.append(LLMCall(
            deployment=deployment, model="gpt-x", model_version="v7",
            ts=now - timedelta(minutes=minutes * (1 - i / n)), api_key_id=api_key,
            latency_ms=180 + (i * 37) % 400 + (900 if error_every and i % error_every == 0 else 0),
            status="error" if error_every and i % error_every == 0 else "ok",
            verdicts=verdicts, response="ok"))
    return calls


def ingest(client: httpx.Client, db: Database, events: list[Any]) -> str:
    """Send events through the ingest API when it is mounted, else straight into the store."""
    body = [e.model_dump(mode="json", exclude_none=True) for e in events]
    resp = client.post("/v1/events", json=body)
    if resp.status_code == 404:
        insert_events(db, events)
        return "store"
    assert resp.status_code < 300, resp.text
    assert resp.json()["accepted"] == len(events), resp.text
    return "api"


def open_incident(db: Database, deployment: str, **fields: Any) -> Incident:
    """An incident written straight to the store (history for lists, API tests)."""
    now = datetime.now(UTC) - fields.pop("age", timedelta(0))
    values: dict[str, Any] = {
        "category": "prompt_injection", "severity": "SEV2", "status": "detected",
        "title": "Prompt-injection campaign from one API key",
        "taxonomy": {"owasp": ["LLM01"], "atlas": ["AML.T0051"]}, **fields}
    inc = Incident(id=new_incident_id(), deployment=deployment, opened_at=now, updated_at=now,
                   **values)
    return create_incident(db, inc)


def external_alert(deployment: str, name: str, category: str, severity: str = "critical",
                   **annotations: str) -> ExternalAlert:
    """An alert from another monitor, sent as a telemetry event (the incidents stage acts on it)."""
    return ExternalAlert(deployment=deployment, name=name, severity=severity,
                         labels={"category": category}, annotations=annotations)


class Helpers:
    """Test helpers handed out as a fixture (conftest modules are not importable by name)."""

    traffic = staticmethod(traffic)
    ingest = staticmethod(ingest)
    open_incident = staticmethod(open_incident)
    external_alert = staticmethod(external_alert)


@pytest.fixture
def fb() -> type[Helpers]:
    return Helpers
