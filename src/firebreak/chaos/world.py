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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
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
    tail_seconds: float = 1.5       # a healed fault's answers still in flight (slow version)
    settle_seconds: float = 1.0     # after the fault's last window is judged: its signals land
    min_rows: int = 40              # rows a drift/performance window needs to be judged
    clean_requests: int = 0         # the clean phase lasts until this many were answered


PROFILES = {
    "fast": Profile(),
    "full": Profile(name="full", window_seconds=5.0, warmup_windows=6, llm_rate=50.0,
                    prediction_rate=50.0, label_delay=5.0, warmup_seconds=60.0,
                    detect_timeout=60.0, tail_seconds=2.0,
                    clean_requests=100_000),
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


def _die_with_parent() -> Callable[[], Any] | None:
    """For the child, before exec (Linux): get SIGTERM when the world's process dies, even
    when it is killed outright (a CI timeout), so no control plane or gateway is orphaned.
    Resolved here, in the parent: the child only makes one C call (no imports, no locks)."""
    if sys.platform != "linux":
        return None
    import ctypes
    import signal

    prctl, pr_set_pdeathsig = ctypes.CDLL(None, use_errno=True).prctl, 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


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
        from firebreak.config import Settings

        ports = {n: free_port() for n in ("sink", "responder", "responder-v2", "control",
                                          "gateway")}
        url = {n: f"http://127.0.0.1:{port}" for n, port in ports.items()}
        config = self.config(url["control"], url["responder"], url["sink"] + "/hook")
        self.handles["settings"] = Settings(**config)
        # The control plane and gateway take longest to boot: start them first, then build
        # the in-process servers and train the model while they boot.
        self._spawn_firebreak(config, url["control"], url["gateway"])
        from firebreak.chaos import responder, tabular
        from firebreak.client import Client

        sink = ServerThread(self.sink.app(), ports["sink"], name="sink").start()
        resp_app = responder.create_app(canary=CANARY)
        resp = ServerThread(resp_app, ports["responder"], name="responder").start()
        self.handles["responder"] = resp_app.state.responder
        # The next model version, deployed by the bad-version scenario: slow and failing.
        bad = responder.Faults(latency_ms=int(self.profile.window_seconds * 300), error_rate=0.4)
        v2 = ServerThread(responder.create_app(faults=bad, canary=CANARY), ports["responder-v2"],
                          name="responder-v2").start()
        self.servers.update(sink=sink, responder=resp, **{"responder-v2": v2})
        model = tabular.FlightModel.build()
        model.records()  # the traffic's rows, built before traffic starts
        for name, proc in self.processes.items():
            _wait_healthy(self.urls[name], proc, name)
        client = Client(url["control"], self.token, flush_interval=0.2)
        flights = ServerThread(tabular.create_app(model, client), name="flights").start()
        self.servers["flights"] = flights
        self.handles.update(model=model, client=client)
        from firebreak.store import Database

        self.handles["db"] = Database(config["database_url"])
        return self

    def _spawn_firebreak(self, config: dict[str, Any], control_url: str,
                         gateway_url: str) -> None:
        """Firebreak's control plane and gateway, each in its own process (two cores)."""
        import yaml

        path = self.workdir / "firebreak.yaml"
        path.write_text(yaml.safe_dump(config))
        # The world's own config only: a caller's FIREBREAK_* settings (a database URL, say)
        # must not leak into the world's processes.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIREBREAK_")}
        env["FIREBREAK_CONFIG"] = str(path)
        log = (self.workdir / "firebreak.log").open("ab")
        gateway_port = gateway_url.rsplit(":", 1)[1]
        for name, args, url in (
            ("control", ["serve"], control_url),
            ("gateway", ["gateway", "--port", gateway_port], gateway_url),
        ):
            proc = subprocess.Popen([sys.executable, "-m", "firebreak", *args], env=env,
                                    cwd=self.workdir, stdout=log, stderr=log,
                                    preexec_fn=_die_with_parent())
            self.processes[name] = proc
            self.urls[name] = url

    def stop(self) -> None:
        """Take everything down; how long each part took goes to `notes["stop"]`."""
        t = time.monotonic()

        def took(part: str) -> None:
            nonlocal t
            self.notes["stop"].append((part, round(time.monotonic() - t, 2)))
            t = time.monotonic()

        client = self.handles.get("client")
        if client is not None:
            client.close(timeout=5)
            took("client")
        for proc in self.processes.values():
            proc.terminate()
        for name, proc in self.processes.items():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            took(name)
        for name in ("flights", "responder-v2", "responder", "sink"):
            if name in self.servers:  # traffic has stopped: idle connections close at once
                self.servers[name].stop(timeout=10)
                took(name)

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
