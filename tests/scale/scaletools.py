"""Helpers for the scaled-topology tests: services on loopback, our own NATS server,
`firebreak serve --role ...` subprocesses and a replayable event stream."""

from __future__ import annotations

import contextlib
import json
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


class Launcher:
    """tests/scale/launcher.py: forks `firebreak` commands from one warm interpreter."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("launcher.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def spawn(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> Forked:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        line = json.dumps({"argv": argv, "env": env, "log": str(log), "cwd": str(cwd)})
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the launcher died")
        return Forked(int(answer))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(10)


class Forked:
    """The Popen calls the tests use, for a child of the launcher (reaped by the kernel)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -1
        with contextlib.suppress(OSError):  # a zombie not yet reaped is gone too
            if Path(f"/proc/{self.pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return -1
        return None

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.05)
        return -1


class Role:
    """`firebreak serve --role <role>` (or `firebreak gateway`) as a separate process:
    forked by a Launcher when one is given, else a fresh `firebreak` subprocess."""

    def __init__(self, config: Path, role: str, log: Path, launcher: Launcher | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = (["gateway", "--port", str(self.port)] if role == "gateway" else
                ["serve", "--role", role, "--port", str(self.port)])
        env = {**os.environ, "FIREBREAK_CONFIG": str(config), "FIREBREAK_LOG_FORMAT": "json",
               "FIREBREAK_PLAYBOOKS__ENGINE_ID": f"{role}-{self.port}", **(env or {})}
        self.log = log
        self.proc: Any
        if launcher is not None:
            self.proc = launcher.spawn(args, env, log, config.parent)
        else:
            self.proc = subprocess.Popen([FIREBREAK, *args], env=env, stdout=log.open("wb"),
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


def all_ready(procs: list[Role], timeout: float = 150) -> None:
    """Wait for every role's /healthz (they start in parallel)."""
    deadline = time.monotonic() + timeout
    for p in procs:
        p.ready(max(1.0, deadline - time.monotonic()))


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
