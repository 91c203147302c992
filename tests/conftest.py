"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, a live server on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from firebreak.config import Settings
from firebreak.runtime import Runtime
from firebreak.store import Database, open_database

PG_ADMIN_URL = os.environ.get("FIREBREAK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BOOT_TOKEN = "fbk_test_bootstrap_admin_token"


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def need_postgres() -> None:
    """Fail in CI, skip with a message elsewhere, when PostgreSQL is not running."""
    if postgres_available():
        return
    if IN_CI:
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI and is not running")
    pytest.skip("PostgreSQL on 127.0.0.1:5432 is not running (mandatory in CI)")


def fresh_pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    need_postgres()
    name = f"fbt_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL on each backend: the store tests run on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'firebreak.db'}"
    else:
        yield from fresh_pg_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'firebreak.db'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def make_settings(url: str, **overrides: object) -> Settings:
    return Settings(database_url=url, bootstrap_token=BOOT_TOKEN, **overrides)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn server on loopback running an ASGI app in a thread."""

    def __init__(self, app: object, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",  # type: ignore[arg-type]
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_api(sqlite_url: str) -> Iterator[tuple[str, Runtime]]:
    """The control-plane app with every stage, served on loopback over SQLite."""
    from firebreak.api.app import create_app

    settings = make_settings(sqlite_url)
    runtime = Runtime.open(settings)
    with LiveServer(create_app(settings, runtime=runtime)) as server:
        yield server.url, runtime


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {BOOT_TOKEN}"}


@pytest.fixture
def client(live_api: tuple[str, Runtime], admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    url, _ = live_api
    with httpx.Client(base_url=url, headers=admin_headers, timeout=30) as c:
        yield c
