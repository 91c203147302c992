"""http.request: a signed call to the user's own endpoint.

The body is JSON; the request carries `Idempotency-Key: <run_id>:<step_id>` so that the
receiver can drop a repeat after a crash, and `X-Firebreak-Signature: sha256=<hex>`, an
HMAC-SHA256 of the body under `secret` (usually `secret:NAME`), when a secret is given.
5xx and connection errors are recoverable (the step's retry applies); 4xx are not.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any

import httpx
import orjson

from firebreak.actions.base import Action, ActionContext, ActionResult, need

_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _shared_client() -> httpx.Client:
    # One pooled client: building a client (and its TLS context) per call costs more than
    # the call itself.
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client()
        return _client


def sign(body: bytes, secret: str) -> str:
    """The X-Firebreak-Signature value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpRequest(Action):
    """POST (or another method) JSON to a URL, signed, with an idempotency key."""

    name = "http.request"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        return self._call(ctx, params, params.get("body", {}))

    def _call(self, ctx: ActionContext, params: dict[str, Any], body: Any) -> ActionResult:
        url, method = str(need(params, "url")), str(params.get("method", "POST")).upper()
        raw = orjson.dumps({"incident_id": ctx.incident.id, "run_id": ctx.run_id,
                            "step_id": ctx.step_id, "body": body})
        headers = {"Content-Type": "application/json", "Idempotency-Key": ctx.key,
                   **{str(k): str(v) for k, v in (params.get("headers") or {}).items()}}
        if params.get("secret"):
            headers["X-Firebreak-Signature"] = sign(raw, str(params["secret"]))
        try:
            resp = _shared_client().request(method, url, content=raw, headers=headers,
                                 timeout=float(params.get("timeout", 10)))
        except httpx.HTTPError as exc:
            return ActionResult(ok=False, recoverable=True,
                                detail=f"{method} {_safe(url)} failed: {type(exc).__name__}")
        ok = resp.status_code < 400
        return ActionResult(ok=ok, recoverable=resp.status_code >= 500 or resp.status_code == 429,
                            detail=f"{method} {_safe(url)} -> {resp.status_code}",
                            data={"status": resp.status_code})


def _safe(url: str) -> str:
    # Never echo query strings (they often carry tokens) into the timeline.
    return httpx.URL(url).copy_with(query=None, fragment=None).__str__()
