"""The reference world: a small simulated production with Firebreak in the loop.

One process, real servers on loopback:

    traffic ──▶ gateway (Firebreak) ──▶ responder (RAG support assistant, misbehaves on cue)
       │            └─ llm.call telemetry ─▶ control plane (API, monitor, incidents,
       └──▶ flight-delay model ─ predictions/labels ─▶       playbooks, forensics)
                                                   notifications ─▶ sink (webhook receiver)

`World.start()` brings everything up on free ports with a profile's settings (window sizes
and rates); scenarios flip faults through the world's handles.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from firebreak.chaos.servers import ServerThread, free_port

LLM_DEPLOYMENT = "support-bot"
CANARY = "FBCANARY-LUMEN-7f3a9c2e"


@dataclass(frozen=True)
class Profile:
    """How fast and how long the world runs."""

    name: str = "fast"
    window_seconds: float = 4.0
    warmup_windows: int = 5
    llm_rate: float = 15.0          # requests per second through the gateway
    prediction_rate: float = 15.0   # predictions per second
    label_delay: float = 3.0        # seconds before a prediction's label arrives
    warmup_seconds: float = 24.0
    detect_timeout: float = 40.0
    settle_seconds: float = 7.0     # > one window + grace: late signals land before cleanup
    min_rows: int = 40              # rows a drift/performance window needs to be judged


PROFILES = {
    "fast": Profile(),
    "full": Profile(name="full", window_seconds=5.0, warmup_windows=6, llm_rate=50.0,
                    prediction_rate=50.0, label_delay=5.0, warmup_seconds=60.0,
                    detect_timeout=60.0, settle_seconds=8.0),
}


class Sink:
    """A webhook receiver standing in for the people being notified; counts per incident."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.per_incident: Counter[str] = Counter()

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            body = orjson.loads(await request.body() or b"{}")
            self.messages.append(body)
            incident = _incident_id(body)
            if incident:
                self.per_incident[incident] += 1
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", receive, methods=["POST"])])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see firebreak.log")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become healthy at {url}")


def _incident_id(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("incident_id", "id"):
            if isinstance(body.get(key), str) and body[key].startswith("inc-"):
                return str(body[key])
        for value in body.values():
            found = _incident_id(value)
            if found:
                return found
    return None


@dataclass
class World:
    """Every server of the world and the handles scenarios pull."""

    profile: Profile = field(default_factory=Profile)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="firebreak-world-")))
    token: str = field(default_factory=lambda: "fbk_world_" + secrets.token_urlsafe(16))
    servers: dict[str, ServerThread] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    sink: Sink = field(default_factory=Sink)
    handles: dict[str, Any] = field(default_factory=dict)
    incidents_in_warmup: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=lambda: defaultdict(list))

    def config(self, control_url: str, responder_url: str, sink_url: str) -> dict[str, Any]:
        """Firebreak's settings for this world, as plain data (YAML for subprocesses)."""
        p = self.profile
        return {
            "database_url": f"sqlite:///{self.workdir / 'firebreak.db'}",
            "data_dir": str(self.workdir / "data"),
            "bootstrap_token": self.token,
            "log_format": "json", "log_level": "warning",
            "api": {"public_url": control_url, "port": int(control_url.rsplit(":", 1)[1])},
            "plugins": {"monitor": {"window_seconds": p.window_seconds, "grace_seconds": 0.5,
                                    "warmup_windows": p.warmup_windows, "tick_seconds": 0.25},
                        # Short windows hold fewer rows than the production defaults ask for.
                        "detectors": {d: {"min_rows": p.min_rows} for d in
                                      ("feature_drift", "missing_values", "output_drift")}
                        | {"performance": {"min_pairs": p.min_rows},
                           "estimated_performance": {"min_predictions": p.min_rows}}},
            "incidents": {"group_wait_seconds": 0.2, "group_interval_seconds": 5,
                          "tick_seconds": 0.2, "auto_resolve_after_seconds": 3600},
            "notifiers": {"webhook": {"url": sink_url}, "routes": [{"notifier": "webhook"}],
                          "backoff_initial_seconds": 0.2, "backoff_max_seconds": 2},
            "gateway": {"upstream": responder_url + "/v1",
                        "deployments": [{"name": LLM_DEPLOYMENT, "upstream": responder_url + "/v1",
                                         "canary": CANARY}],
                        "control_plane_url": control_url, "ingest_token": self.token,
                        "policy_poll_seconds": 0.2},
        }

    def start(self) -> World:
        """Bring every server up; on any failure, take down what already started."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> World:
        from firebreak.chaos import responder, tabular
        from firebreak.client import Client
        from firebreak.config import Settings
        
        sink = ServerThread(self.sink.app(), name="sink").start()
        resp_app = responder.create_app(canary=CANARY)
        resp = ServerThread(resp_app, name="responder").start()
        self.handles["responder"] = resp_app.state.responder
        # The next model version, deployed by the bad-version scenario: slow and failing.
        bad = responder.Faults(latency_ms=int(self.profile.window_seconds * 300), error_rate=0.4)
        v2 = ServerThread(responder.create_app(faults=bad, canary=CANARY), name="responder-v2").start()
        self.servers.update(sink=sink, responder=resp, **{"responder-v2": v2})
        control_url = f"http://127.0.0.1:{free_port()}"
        config = self.config(control_url, resp.url, sink.url + "/hook")
        self.handles["settings"] = Settings(**config)
        self._spawn_firebreak(config, control_url)
        model = tabular.FlightModel.build()  # trains while the control plane starts
        for name, proc in self.processes.items():
            _wait_healthy(self.urls[name], proc, name)
        client = Client(control_url, self.token, flush_interval=0.2)
        flights = ServerThread(tabular.create_app(model, client), name="flights").start()
        self.servers["flights"] = flights
        self.handles.update(model=model, client=client)
        from firebreak.store import Database

        self.handles["db"] = Database(config["database_url"])
        return self

    def _spawn_firebreak(self, config: dict[str, Any], control_url: str) -> None:
        """Firebreak's control plane and gateway, each in its own process (two cores)."""
        import yaml

        path = self.workdir / "firebreak.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "FIREBREAK_CONFIG": str(path)}
        log = (self.workdir / "firebreak.log").open("ab")
        gateway_port = free_port()
        for name, args, url in (
            ("control", ["serve"], control_url),
            ("gateway", ["gateway", "--port", str(gateway_port)], f"http://127.0.0.1:{gateway_port}"),
        ):
            proc = subprocess.Popen([sys.executable, "-m", "firebreak", *args], env=env,
                                    cwd=self.workdir, stdout=log, stderr=log)
            self.processes[name] = proc
            self.urls[name] = url

    def stop(self) -> None:
        client = self.handles.get("client")
        if client is not None:
            client.close()
        for proc in self.processes.values():
            proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for name in ("flights", "responder-v2", "responder", "sink"):
            if name in self.servers:
                self.servers[name].stop()

    def url(self, name: str) -> str:
        return self.urls[name] if name in self.urls else self.servers[name].url

    @property
    def db(self) -> Any:
        """The control plane's store, opened by the world to read what Firebreak did."""
        return self.handles["db"]

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
