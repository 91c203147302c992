"""Fixtures for the gateway tests: a stub upstream and gateways on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from conftest import LiveServer, make_settings
from firebreak.config import GatewaySettings
from firebreak.store import Database, open_database

from .stub import Stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub("stub-a")
    with LiveServer(s.app()) as server:
        s.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield s


@pytest.fixture
def stub_b() -> Iterator[Stub]:
    s = Stub("stub-b")
    with LiveServer(s.app()) as server:
        s.url = server.url + "/v1"  # type: ignore[attr-defined]
        yield s


@pytest.fixture
def gw_db(sqlite_url: str) -> Iterator[Database]:
    db = open_database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
def start_gateway(sqlite_url: str, stub: Stub) -> Iterator[Callable[..., str]]:
    """Start a gateway (or several) over the test database; returns its base URL."""
    from firebreak.gateway.app import create_gateway_app

    with ExitStack() as stack:
        def start(**gateway: Any) -> str:
            gw = GatewaySettings(**{"upstream": stub.url, "policy_poll_seconds": 0.1,  # type: ignore[attr-defined]
                                    **gateway})
            settings = make_settings(sqlite_url, gateway=gw)
            server = stack.enter_context(LiveServer(create_gateway_app(settings)))
            return server.url

        yield start


@pytest.fixture
def gateway_url(start_gateway: Callable[..., str]) -> str:
    return start_gateway()
