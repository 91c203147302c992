"""Helpers for the scaled-topology tests: services on loopback, our own NATS server,
`firebreak serve --role ...` subprocesses and a replayable event stream."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import BOOT_TOKEN, IN_CI, free_port

FIREBREAK = str(Path(sys.executable).with_name("firebreak"))
NATS_SERVER = "/usr/sbin/nats-server"


def need_service(port: int, name: str) -> None:
    """Fail in CI, skip with a message elsewhere, when a service on loopback is missing."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        if IN_CI:
            pytest.fail(f"{name} on 127.0.0.1:{port} is required in CI and is not running")
        pytest.skip(f"{name} on 127.0.0.1:{port} is not running (mandatory in CI)")


class OwnNats:
    """A nats-server with JetStream that the test starts, stops and restarts itself."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
            self.proc = None


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def write_config(path: Path, **values: Any) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


class Role:
    """`firebreak serve --role <role>` (or `firebreak gateway`) as a subprocess."""

    def __init__(self, config: Path, role: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = ([FIREBREAK, "gateway", "--port", str(self.port)] if role == "gateway" else
                [FIREBREAK, "serve", "--role", role, "--port", str(self.port)])
        env = {**os.environ, "FIREBREAK_CONFIG": str(config), "FIREBREAK_LOG_FORMAT": "json",
               "FIREBREAK_PLAYBOOKS__ENGINE_ID": f"{role}-{self.port}"}
        self.log = log
        self.proc = subprocess.Popen(argv, env=env, stdout=log.open("wb"),
                                     stderr=subprocess.STDOUT, cwd=config.parent)

    def ready(self, timeout: float = 150) -> Role:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"role exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"role not ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def replay_stream(deployment: str, base: datetime, windows: int, per_window: int,
                  errors: list[int]) -> list[list[dict[str, Any]]]:
    """One batch of llm.call events per one-second window; errors[i] of them failed."""
    batches = []
    for w in range(windows):
        batch = []
        for i in range(per_window):
            ts = base + timedelta(seconds=w, milliseconds=i * (900 // per_window))
            failed = i < errors[w]
            batch.append({"kind": "llm.call", "event_id": f"{deployment}-{w}-{i}",
                          "deployment": deployment, "ts": ts.isoformat(),
                          "latency_ms": 100 + (i * 7) % 50, "response": f"r{i}",
                          "status": "error" if failed else "ok",
                          "error": "upstream 500" if failed else None})
        batches.append(batch)
    return batches


def aligned_now() -> datetime:
    return datetime.fromtimestamp(int(time.time()), UTC)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {BOOT_TOKEN}"}
