"""Fixtures for the incidents tests: a fake clock, local service stand-ins, settings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from firebreak.config import Settings
from firebreak.signals import Signal

from .root import BOOT_TOKEN, LiveServer, free_port
from .services import HIVE_KEY, ROUTING_KEY, WEBHOOK_SECRET, Services


class FakeClock:
    """A settable, thread-safe clock (UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=seconds)
            return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(clock: FakeClock) -> Iterator[tuple[str, Services]]:
    svc = Services(clock)
    with LiveServer(svc.app) as server:
        yield server.url, svc


def notifier_config(url: str, routes: list[dict[str, Any]] | None = None,
                    **extra: Any) -> dict[str, Any]:
    """`notifiers:` settings pointing every service at the local stand-ins."""
    return {
        "slack": {"webhook_url": f"{url}/slack/T000/B000/XXX"},
        "pagerduty": {"routing_key": ROUTING_KEY, "url": f"{url}/v2/enqueue"},
        "thehive": {"url": url, "api_key": HIVE_KEY},
        "webhook": {"url": f"{url}/hook", "secret": WEBHOOK_SECRET},
        "routes": routes or [], **extra,
    }


def settings_for(db_url: str, url: str = "http://127.0.0.1:9", *,
                 routes: list[dict[str, Any]] | None = None,
                 incidents: dict[str, Any] | None = None,
                 **notifiers: Any) -> Settings:
    return Settings(database_url=db_url, bootstrap_token=BOOT_TOKEN,  # type: ignore[arg-type]
                    notifiers=notifier_config(url, routes, **notifiers),
                    incidents=incidents or {})


def signal(status: str = "firing", *, category: str = "hallucination", deployment: str = "bot",
           ts: datetime | None = None, share: float | None = None, metric: str = "rate",
           **kw: Any) -> Signal:
    facts = {"traffic_share": share} if share is not None else {}
    return Signal(deployment=deployment, detector=f"{category}-detector", metric=metric,
                  value=kw.pop("value", 0.3), threshold=0.1, status=status, category=category,
                  ts=ts or datetime.now(UTC), facts=facts, message=f"{category} rate high",
                  **kw)


def free_port_smtp() -> int:
    """A free loopback port for aiosmtpd."""
    return free_port()


@pytest.fixture
def incident_api(sqlite_url: str, services: tuple[str, Services]) -> Iterator[Any]:
    """The control plane with the incidents stage, notifying the local Slack stand-in."""
    from firebreak.api.app import create_app
    from firebreak.runtime import Runtime

    url, svc = services
    settings = settings_for(sqlite_url, url, routes=[{"notifier": "slack"}],
                            incidents={"group_wait_seconds": 0, "tick_seconds": 0.05})
    runtime = Runtime.open(settings)
    published: list[dict[str, str]] = []
    runtime.bus.subscribe("incidents", published.extend, name="test.recorder")
    # Only this stage: playbooks would contain incidents under the lifecycle tests' feet.
    app = create_app(settings, runtime=runtime, stages=["firebreak.incidents.stage:create"])
    with LiveServer(app) as server:
        yield server.url, runtime, svc, published
