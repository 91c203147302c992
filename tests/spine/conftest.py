"""Fixtures for the spine: a real `firebreak serve` subprocess, a bus-watching live API, tokens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from firebreak import bus
from firebreak.runtime import Runtime
from firebreak.store.tokens import create_token
from spine.shared import BOOT_TOKEN, LiveServer, free_port, make_settings

FIREBREAK = str(Path(sys.executable).with_name("firebreak"))


class ServeProcess:
    """`firebreak serve` as a real subprocess on loopback over a given database URL."""

    def __init__(self, db_url: str, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "FIREBREAK_DATABASE_URL": db_url,
                    "FIREBREAK_BOOTSTRAP_TOKEN": BOOT_TOKEN, "FIREBREAK_LOG_LEVEL": "warning",
                    **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> ServeProcess:
        self.proc = subprocess.Popen(
            [FIREBREAK, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"firebreak serve exited early: {err[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("firebreak serve did not come up")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def watched_api(sqlite_url: str) -> Iterator[tuple[str, Runtime, list[Any]]]:
    """A live API with no stages whose bus EVENTS topic is recorded into a list."""
    from firebreak.api.app import create_app

    settings = make_settings(sqlite_url)
    runtime = Runtime.open(settings)
    seen: list[Any] = []
    runtime.bus.subscribe(bus.EVENTS, seen.extend, name="test-recorder")
    with LiveServer(create_app(settings, runtime=runtime, stages=[])) as server:
        yield server.url, runtime, seen


def token_headers(runtime: Runtime, *scopes: str) -> dict[str, str]:
    secret, _ = create_token(runtime.db, name="test-" + "-".join(scopes), scopes=list(scopes))
    return {"Authorization": f"Bearer {secret}"}


def llm_calls(n: int, deployment: str = "support-bot", prefix: str = "e") -> list[dict[str, Any]]:
    return [{"kind": "llm.call", "event_id": f"{prefix}{i}", "deployment": deployment,
             "model": "gpt-4o", "messages": [{"role": "user", "content": f"question {i}"}],
             "response": "answer", "latency_ms": 100 + i, "input_tokens": 10,
             "output_tokens": 20, "user_id": f"u{i % 3}"} for i in range(n)]
