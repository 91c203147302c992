"""A caller that hangs up mid-stream: the gateway stops relaying, closes the upstream
stream long before it would have ended, and still records the call."""

from __future__ import annotations

import socket
import time

from firebreak import metrics

from .stub import Stub


def _recorded(deployment: str) -> float:
    return sum(metrics.gateway_requests.labels(deployment=deployment, outcome=o)._value.get()
               for o in ("ok", "error"))


def test_caller_disconnect_ends_the_relay(gateway_url: str, stub: Stub) -> None:
    stub.pause, stub.chunks = 0.1, 60  # a 6 s stream if read to the end
    host, port = gateway_url.removeprefix("http://").split(":")
    body = (b'{"model": "m", "stream": true, '
            b'"messages": [{"role": "user", "content": "tell me a long story"}]}')
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                 b"x-firebreak-deployment: hangup\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert b"data:" in sock.recv(65536)  # the stream has started
    before = _recorded("hangup")
    sock.close()
    t0 = time.monotonic()
    while _recorded("hangup") == before and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    took = time.monotonic() - t0
    assert _recorded("hangup") == before + 1, "the call was never recorded"
    assert took < 2, f"the relay ran on for {took:.1f} s after the caller left"
