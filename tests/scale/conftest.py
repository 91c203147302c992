"""Fixtures for the scaled topology: the machine's NATS, PostgreSQL and Redis, a NATS
server of our own, and `firebreak serve --role ...` as real subprocesses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import IN_CI, fresh_pg_url

from .scaletools import NATS_SERVER, Launcher, OwnNats, Role, need_service


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database."""
    from firebreak.store import upgrade

    for url in fresh_pg_url():
        upgrade(url)
        yield url


@pytest.fixture
def prefix() -> str:
    need_service(4222, "NATS")
    return f"fbt{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def shared_nats(prefix: str) -> Any:
    """The machine's NATS; this test's streams are deleted afterwards."""
    from firebreak.jetstream import JetStreamBus

    yield "nats://127.0.0.1:4222"
    cleanup = JetStreamBus(prefix=prefix)
    await cleanup.delete_streams()
    await cleanup.close()


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    if not Path(NATS_SERVER).exists():
        if IN_CI:
            pytest.fail(f"{NATS_SERVER} is required in CI")
        pytest.skip(f"{NATS_SERVER} is not installed")
    server = OwnNats(tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def launcher() -> Iterator[Launcher]:
    """One warm interpreter that forks every role of the session (tests/scale/launcher.py)."""
    server = Launcher()
    yield server
    server.close()


@pytest.fixture
def roles(tmp_path: Path, launcher: Launcher) -> Iterator[Any]:
    """spawn(config, role) -> Role, a separate process forked by the launcher; every
    spawned process is stopped at the end."""
    started: list[Role] = []

    def spawn(config: Path, role: str, **env: str) -> Role:
        r = Role(config, role, tmp_path / f"{role}-{len(started)}.log", launcher, env)
        started.append(r)
        return r

    yield spawn
    for r in started:  # signal all first, then wait: teardown in parallel
        if r.proc.poll() is None:
            r.proc.terminate()
    for r in started:
        r.stop()
