"""Real receivers for SIEM tests: an HTTP endpoint speaking Elasticsearch _bulk, syslog sockets."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from firebreak.store import Database
from firebreak.store.incidents import Incident, append_timeline, create_incident, new_incident_id
from firebreak.store.playbooks import create_run, record_step


class BulkServer:
    """Answers POSTs like Elasticsearch's _bulk API (or fails on demand) and keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.fail = False
        self.auth: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.auth.append(self.headers.get("Authorization"))
                if outer.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.bodies.append(body)
                lines = body.splitlines()[::2]
                items = [{"create": {"_id": json.loads(x)["create"]["_id"], "status": 201}}
                         for x in lines if x.startswith('{"create"')]
                data = json.dumps({"took": 1, "errors": False, "items": items}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_bulk"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SyslogReceiver:
    """A UDP and a TCP syslog listener on loopback collecting raw messages."""

    def __init__(self) -> None:
        self.udp_messages: list[bytes] = []
        self.tcp_stream = bytearray()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        outer = self

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                while chunk := self.request.recv(65536):
                    outer.tcp_stream.extend(chunk)

        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tcp)
        self.tcp.daemon_threads = True
        threading.Thread(target=self.tcp.serve_forever, daemon=True).start()

    @property
    def udp_port(self) -> int:
        return int(self.udp.getsockname()[1])

    @property
    def tcp_port(self) -> int:
        return int(self.tcp.server_address[1])

    def read_udp(self, n: int) -> list[bytes]:
        while len(self.udp_messages) < n:
            self.udp_messages.append(self.udp.recv(70_000))
        return self.udp_messages

    def close(self) -> None:
        self.udp.close()
        self.tcp.shutdown()
        self.tcp.server_close()


@pytest.fixture
def bulk() -> Iterator[BulkServer]:
    server = BulkServer()
    yield server
    server.close()


@pytest.fixture
def syslog_rx() -> Iterator[SyslogReceiver]:
    rx = SyslogReceiver()
    yield rx
    rx.close()


def incident_with_history(db: Database) -> Incident:
    """An incident opened, an alert on its timeline, an action taken and an approval denied:
    four records for a SIEM."""
    now = datetime.now(UTC)
    inc = create_incident(db, Incident(
        id=new_incident_id(), deployment="support-bot", category="prompt_injection",
        severity="SEV1", status="detected", opened_at=now, updated_at=now,
        title='Injection "campaign" [key-9]', labels={"team": "ml"},
        taxonomy={"family": "injection", "owasp": ["LLM01"], "atlas": ["AML.T0051"],
                  "nist": ["MANAGE 2.3"]}))
    append_timeline(db, inc.id, kind="alert", actor="signal:injection_rate",
                    message="alert injection_rate firing value=0.4",
                    data={"fingerprint": "ab12", "status": "firing"})
    run = create_run(db, incident_id=inc.id, playbook="contain-injection", definition={},
                     dry_run=False, owner="test", lease_until=now + timedelta(minutes=1))
    assert run is not None
    record_step(db, run.id, "block", status="succeeded", action="gateway.block",
                outcome_at=now, intent_at=now, timeline={
                    "incident_id": inc.id, "actor": "playbook:contain-injection",
                    "message": "gateway.block succeeded: blocked key-9",
                    "data": {"phase": "outcome", "action": "gateway.block", "ok": True}})
    record_step(db, run.id, "rollback", status="denied", outcome_at=now + timedelta(seconds=1),
                decided_by="alice")
    return inc


class Helpers:
    incident_with_history = staticmethod(incident_with_history)


@pytest.fixture
def siem() -> type[Helpers]:
    return Helpers
