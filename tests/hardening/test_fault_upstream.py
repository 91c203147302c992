"""Fault: the upstream LLM hangs, or resets the connection. The gateway gives up after
`gateway.timeout_seconds` and answers with an OpenAI-style error (never hangs itself, never
a 500 of its own), and keeps serving the next caller."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from firebreak.config import GatewaySettings
from spine.shared import LiveServer, make_settings


class BadUpstream:
    """A TCP server on loopback that accepts and then hangs, or resets the connection."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.mode == "reset":
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()  # RST instead of FIN
            else:
                self.held.append(conn)  # read nothing, answer nothing

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(params=["hang", "reset"])
def gateway(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[tuple[str, str]]:
    from firebreak.gateway.app import create_gateway_app

    upstream = BadUpstream(request.param)
    gw = GatewaySettings(upstream=upstream.url, timeout_seconds=1.0, policy_poll_seconds=0.2)
    with LiveServer(create_gateway_app(make_settings(sqlite_url, gateway=gw))) as server:
        yield server.url, request.param
    upstream.close()


def _chat(url: str, stream: bool = False) -> tuple[httpx.Response, float]:
    body: dict[str, Any] = {"model": "gpt-4o", "stream": stream,
                            "messages": [{"role": "user", "content": "hello"}]}
    start = time.perf_counter()
    resp = httpx.post(url + "/v1/chat/completions", json=body, timeout=20,
                      headers={"Authorization": "Bearer sk-caller"})
    return resp, time.perf_counter() - start


def test_gateway_times_out_and_answers_with_an_error(gateway: tuple[str, str]) -> None:
    url, mode = gateway
    for stream in (False, True):
        resp, took = _chat(url, stream)
        assert resp.status_code in (502, 504), resp.text
        error = resp.json()["error"]
        assert error["message"] and error["type"]
        assert took < (5 if mode == "hang" else 2), f"{mode}: {took:.2f}s"
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200
