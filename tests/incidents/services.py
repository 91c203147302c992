"""Local stand-ins for Slack, PagerDuty, TheHive and a webhook receiver.

Each checks every request against the service's documented shape and answers the way
the service does (400 on a malformed request), recording what it accepted. `down_until`
makes every endpoint answer 503 while the shared clock is before it (an outage).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

SLACK_BLOCKS = {"header", "section", "context", "actions", "divider", "image", "rich_text"}
PD_SEVERITIES = {"critical", "error", "warning", "info"}
ROUTING_KEY = "R0123456789ABCDEF0123456789ABCDE"  # 32 characters, like a real integration key
HIVE_KEY = "hive-api-key"
WEBHOOK_SECRET = "s3cret-hmac-key"


def slack_problems(body: Any) -> list[str]:
    """What is wrong with a Slack incoming-webhook body (Block Kit limits)."""
    errs: list[str] = []
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return ["need text or blocks"]
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        errs.append("blocks must be a list of at most 50")
    for b in blocks:
        kind = b.get("type")
        if kind not in SLACK_BLOCKS:
            errs.append(f"unknown block type {kind}")
        if kind == "header" and (b["text"]["type"] != "plain_text" or len(b["text"]["text"]) > 150):
            errs.append("header needs plain_text up to 150 chars")
        if kind == "section":
            if "text" not in b and "fields" not in b:
                errs.append("section needs text or fields")
            if len(b.get("text", {}).get("text", "")) > 3000 or len(b.get("fields", [])) > 10:
                errs.append("section text over 3000 chars or over 10 fields")
            for f in b.get("fields", []):
                if f.get("type") not in ("mrkdwn", "plain_text") or len(f.get("text", "")) > 2000:
                    errs.append("bad field")
        if kind == "actions":
            for e in b["elements"]:
                if e["type"] != "button" or e["text"]["type"] != "plain_text":
                    errs.append("bad action element")
    return errs


def pagerduty_problems(body: Any) -> list[str]:
    """What is wrong with an Events API v2 body."""
    errs: list[str] = []
    if body.get("routing_key") != ROUTING_KEY:
        errs.append("routing_key")
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errs.append("event_action")
    if not isinstance(body.get("dedup_key"), str) or not 0 < len(body["dedup_key"]) <= 255:
        errs.append("dedup_key")
    if action == "trigger":
        p = body.get("payload") or {}
        if not p.get("summary") or len(p["summary"]) > 1024:
            errs.append("payload.summary")
        if not p.get("source"):
            errs.append("payload.source")
        if p.get("severity") not in PD_SEVERITIES:
            errs.append("payload.severity")
        if "timestamp" in p:
            datetime.fromisoformat(p["timestamp"])
        for link in body.get("links", []):
            if not link.get("href"):
                errs.append("links.href")
    return errs


def thehive_problems(body: Any, auth: str | None) -> list[str]:
    """What is wrong with a TheHive 5 POST /api/v1/alert (InputAlert)."""
    errs = [] if auth == f"Bearer {HIVE_KEY}" else ["authorization"]
    for key in ("type", "source", "sourceRef", "title", "description"):
        if not isinstance(body.get(key), str) or not body[key]:
            errs.append(key)
    if body.get("severity", 2) not in (1, 2, 3, 4):
        errs.append("severity")
    if body.get("tlp", 2) not in range(5) or body.get("pap", 2) not in range(4):
        errs.append("tlp/pap")
    if not all(isinstance(t, str) for t in body.get("tags", [])):
        errs.append("tags")
    return errs


class Services:
    """The recording app; `received[service]` lists accepted bodies in arrival order."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock
        self.down_until: datetime | None = None
        self.received: dict[str, list[Any]] = {"slack": [], "pagerduty": [], "thehive": [],
                                                "webhook": []}
        self.refused: list[tuple[str, list[str]]] = []
        self.outage_hits = 0
        self.lock = threading.Lock()
        self.app = FastAPI()
        self._routes()

    def _down(self) -> bool:
        return bool(self.down_until and self.clock and self.clock() < self.down_until)

    def _take(self, service: str, body: Any, errs: list[str], ok: Response) -> Response:
        with self.lock:
            if self._down():
                self.outage_hits += 1
                return PlainTextResponse("unavailable", status_code=503)
            if errs:
                self.refused.append((service, errs))
                return JSONResponse({"status": "invalid event", "errors": errs}, 400)
            self.received[service].append(body)
        return ok

    def _routes(self) -> None:
        app = self.app

        @app.post("/slack/T000/B000/XXX")
        async def slack(request: Request) -> Response:
            body = await request.json()
            return self._take("slack", body, slack_problems(body), PlainTextResponse("ok"))

        @app.post("/v2/enqueue")
        async def pagerduty(request: Request) -> Response:
            body = await request.json()
            ok = JSONResponse({"status": "success", "message": "Event processed",
                               "dedup_key": body.get("dedup_key")}, 202)
            return self._take("pagerduty", body, pagerduty_problems(body), ok)

        @app.post("/api/v1/alert")
        async def thehive(request: Request) -> Response:
            body = await request.json()
            errs = thehive_problems(body, request.headers.get("authorization"))
            return self._take("thehive", body, errs, JSONResponse({"_id": "~1", **body}, 201))

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            raw = await request.body()
            ts = request.headers.get("x-firebreak-timestamp", "")
            want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + b"." + raw,
                                        hashlib.sha256).hexdigest()
            got = request.headers.get("x-firebreak-signature", "")
            errs = [] if hmac.compare_digest(want, got) else ["signature"]
            if not re.fullmatch(r"\d+", ts):
                errs.append("timestamp")
            return self._take("webhook", json.loads(raw), errs, PlainTextResponse("ok"))
