"""RFC 5424 syslog messages for ECS documents, and their framing for UDP and TCP.

The MSG part is the ECS document as JSON (UTF-8, marked with a BOM as RFC 5424 asks),
and the key facts are repeated as structured data so a SIEM can route on them without
parsing the JSON. TCP uses octet-counting framing (RFC 6587, section 3.4.1).
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from typing import Any

# SD-ID in the name@<enterprise number> form; 32473 is the number RFC 5612 sets aside
# for examples and documentation, which is what this is until Firebreak registers one.
SD_ID = "firebreak@32473"
SYSLOG_SEVERITY = {"critical": 2, "error": 3, "warning": 4, "notice": 5, "info": 6}
MAX_UDP_BYTES = 65_000
_BOM = "\ufeff"


def _sd_value(value: Any) -> str:
    # RFC 5424 section 6.3.3: escape '"', '\' and ']' inside PARAM-VALUE.
    text = str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _header_field(value: str, limit: int) -> str:
    # Header fields are printable US-ASCII without spaces; '-' means "no value".
    clean = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return clean or "-"


def format_message(doc: dict[str, Any], *, facility: int = 13, app_name: str = "firebreak",
                   hostname: str | None = None) -> bytes:
    """One RFC 5424 message (without transport framing) for one ECS document."""
    event = doc.get("event", {})
    inc = doc.get("firebreak", {}).get("incident", {})
    level = doc.get("log", {}).get("level", "info")
    if event.get("outcome") == "failure":
        level = "error"
    if event.get("dataset") == "firebreak.action" and event.get("outcome") != "failure":
        level = "info"
    pri = facility * 8 + SYSLOG_SEVERITY.get(level, 6)
    ts = doc.get("@timestamp") or datetime.now(UTC).isoformat()
    params = {"event_id": event.get("id", ""), "action": event.get("action", ""),
              "incident_id": inc.get("id", ""), "severity": inc.get("severity", ""),
              "status": inc.get("status", ""), "category": inc.get("category", ""),
              "deployment": inc.get("deployment", "")}
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items() if v) + "]"
    msgid = _header_field(str(event.get("dataset", "firebreak")).split(".")[-1], 32)
    header = " ".join([f"<{pri}>1", _header_field(ts, 64),
                       _header_field(hostname or socket.gethostname(), 255),
                       _header_field(app_name, 48), _header_field(str(os.getpid()), 128), msgid])
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{header} {sd} {_BOM}{body}".encode()


def frame_tcp(message: bytes) -> bytes:
    """Octet-counting framing: 'MSG-LEN SP SYSLOG-MSG'."""
    return str(len(message)).encode() + b" " + message


def parse_structured_data(message: bytes) -> dict[str, str]:
    """The firebreak SD-ELEMENT's parameters (for tests and troubleshooting)."""
    text = message.decode()
    start = text.index("[" + SD_ID) + len(SD_ID) + 1
    params: dict[str, str] = {}
    i = start
    while text[i] != "]":
        i += 1  # the space before a name
        eq = text.index("=", i)
        name, i, value = text[i:eq], eq + 2, []
        while text[i] != '"':
            if text[i] == "\\":
                i += 1
            value.append(text[i])
            i += 1
        params[name] = "".join(value)
        i += 1
    return params
