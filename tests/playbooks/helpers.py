"""Test helpers shared by tests/playbooks and tests/actions: a receiving HTTP server,
incident factories and an engine driver."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from firebreak.config import Settings
from firebreak.playbooks.engine import Engine
from firebreak.playbooks.schema import Playbook
from firebreak.store.db import Database
from firebreak.store.incidents import Incident, create_incident, new_incident_id
from firebreak.store.playbooks import RUN_ACTIVE, list_runs

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def root() -> ModuleType:
    """tests/conftest.py as a module (make_settings, LiveServer, free_port, BOOT_TOKEN).

    `from conftest import ...` is ambiguous once several test folders without
    __init__.py have their own conftest.py, so load the root one by path.
    """
    mod = sys.modules.get("conftest")
    if mod is not None and Path(str(mod.__file__)).resolve() == ROOT_CONFTEST:
        return mod
    cached = sys.modules.get("_firebreak_root_conftest")
    if cached is not None:
        return cached
    spec = importlib.util.spec_from_file_location("_firebreak_root_conftest", ROOT_CONFTEST)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_firebreak_root_conftest"] = mod
    spec.loader.exec_module(mod)
    return mod


class Receiver:
    """A loopback HTTP server standing in for the user's endpoint.

    It honours Idempotency-Key as a well-behaved receiver does: `effects` counts each key
    once; `deliveries` counts every request. `fail_first` answers 503 to that many requests.
    """

    def __init__(self, *, fail_first: int = 0, delay: float = 0.0) -> None:
        self.deliveries: Counter[str] = Counter()
        self.effects: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first, self.delay = fail_first, delay
        self.arrived = threading.Event()  # set when a request comes in
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.arrived.set()
                if owner.delay:
                    time.sleep(owner.delay)
                try:
                    body = json.loads(raw)
                except ValueError:  # the sender died mid-request: nothing happened
                    self.send_response(400)
                    self.end_headers()
                    return
                with owner.lock:
                    key = self.headers.get("Idempotency-Key", "")
                    owner.deliveries[key] += 1
                    if owner.fail_first > 0:
                        owner.fail_first -= 1
                        code = 503
                    else:
                        code = 200
                        if key not in owner.effects:
                            owner.effects[key] += 1
                            owner.bodies.append(body)
                            owner.headers.append(dict(self.headers))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_incident(db: Database, *, category: str = "prompt_injection", severity: str = "SEV2",
                  deployment: str = "chatbot", facts: dict[str, Any] | None = None,
                  labels: dict[str, Any] | None = None) -> Incident:
    now = datetime.now(UTC)
    return create_incident(db, Incident(
        id=new_incident_id(), deployment=deployment, category=category,
        severity=severity, status="detected", title=f"{category} on {deployment}",  # type: ignore[arg-type]
        opened_at=now, updated_at=now, facts=facts or {}, labels=labels or {}))


def playbook(text: str) -> Playbook:
    return Playbook.model_validate(yaml.safe_load(text))


async def settle(engine: Engine, db: Database, timeout: float = 20.0) -> None:
    """Wait until no run is active (or only waiting for approval) and no task is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = [t for t in engine.tasks.values() if not t.done()]
        if not tasks:
            return
        await asyncio.sleep(0.05)
    active = [r.id for r in list_runs(db) if r.status in RUN_ACTIVE]
    raise AssertionError(f"runs still active after {timeout}s: {active}")


def engine_for(db: Database, settings: Settings, *texts: str) -> Engine:
    return Engine(db, settings, [playbook(t) for t in texts])
