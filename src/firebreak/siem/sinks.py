"""Where ECS records go: a JSON-lines file, an HTTP endpoint, or a syslog receiver.

A sink's `send` delivers a whole batch or raises `SinkError`; the exporter keeps the
batch (does not move that sink's cursor) and tries again on its next sweep.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, Protocol

import httpx

from firebreak.config import SiemSettings
from firebreak.errors import FirebreakError
from firebreak.siem.syslog import MAX_UDP_BYTES, format_message, frame_tcp


class SinkError(FirebreakError):
    """Raised when a sink could not deliver a batch (it will be retried)."""


class Sink(Protocol):
    name: str

    def send(self, docs: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


def _line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)


class FileSink:
    """Append one ECS document per line (Filebeat, Elastic Agent or a Splunk forwarder tail it)."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, docs: list[dict[str, Any]]) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write("".join(_line(d) + "\n" for d in docs))
        except OSError as exc:
            raise SinkError(f"siem.ecs_file: cannot append to {self.path}: {exc}") from exc

    def close(self) -> None:
        pass


class HttpSink:
    """POST a batch as NDJSON, or as an Elasticsearch `_bulk` body keyed by `event.id`."""

    name = "http"

    def __init__(self, url: str, *, fmt: str = "ndjson", index: str = "firebreak",
                 authorization: str | None = None, timeout: float = 5.0) -> None:
        self.url, self.fmt, self.index = url, fmt, index
        headers = {"Content-Type": "application/x-ndjson"}
        if authorization:
            headers["Authorization"] = authorization
        self.client = httpx.Client(headers=headers, timeout=timeout)

    def _body(self, docs: list[dict[str, Any]]) -> str:
        if self.fmt == "elastic_bulk":
            # `create` with the event id: a record delivered twice is stored once (409).
            return "".join(_line({"create": {"_index": self.index, "_id": d["event"]["id"]}})
                           + "\n" + _line(d) + "\n" for d in docs)
        return "".join(_line(d) + "\n" for d in docs)

    def send(self, docs: list[dict[str, Any]]) -> None:
        try:
            resp = self.client.post(self.url, content=self._body(docs).encode())
        except httpx.HTTPError as exc:
            raise SinkError(f"siem.http_url: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 300:
            raise SinkError(f"siem.http_url: HTTP {resp.status_code}: {resp.text[:200]}")
        if self.fmt == "elastic_bulk" and resp.json().get("errors"):
            failed = [i for i in resp.json().get("items", [])
                      if next(iter(i.values())).get("status", 200) not in (200, 201, 409)]
            if failed:
                raise SinkError(f"siem.http_url: {len(failed)} bulk items failed: {failed[0]}")

    def close(self) -> None:
        self.client.close()


class SyslogSink:
    """RFC 5424 over UDP (one datagram per record) or TCP (octet-counted frames)."""

    def __init__(self, host: str, port: int, *, protocol: str = "udp", facility: int = 13,
                 timeout: float = 5.0) -> None:
        self.addr, self.protocol = (host, port), protocol
        self.facility, self.timeout = facility, timeout
        self.name = f"syslog-{protocol}"

    def send(self, docs: list[dict[str, Any]]) -> None:
        messages = [format_message(d, facility=self.facility) for d in docs]
        try:
            if self.protocol == "tcp":
                with socket.create_connection(self.addr, timeout=self.timeout) as sock:
                    sock.sendall(b"".join(frame_tcp(m) for m in messages))
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    for m in messages:
                        sock.sendto(m[:MAX_UDP_BYTES], self.addr)
        except OSError as exc:
            raise SinkError(f"siem.syslog_host: {self.protocol} {self.addr}: {exc}") from exc

    def close(self) -> None:
        pass


def build_sinks(settings: SiemSettings) -> list[Sink]:
    """The sinks the `siem` settings section names (none when nothing is configured)."""
    sinks: list[Sink] = []
    if settings.ecs_file is not None:
        sinks.append(FileSink(settings.ecs_file))
    if settings.http_url:
        auth = settings.http_authorization
        sinks.append(HttpSink(settings.http_url, fmt=settings.http_format,
                              index=settings.http_index, timeout=settings.timeout_seconds,
                              authorization=auth.get_secret_value() if auth else None))
    if settings.syslog_host:
        sinks.append(SyslogSink(settings.syslog_host, settings.syslog_port,
                                protocol=settings.syslog_protocol,
                                facility=settings.syslog_facility,
                                timeout=settings.timeout_seconds))
    return sinks
