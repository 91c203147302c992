"""The Python client: log telemetry from your application without slowing it down.

    from firebreak import client
    client.init("http://127.0.0.1:8700", token="fbk_...")      # or FIREBREAK_URL / _TOKEN
    client.log_llm_call(deployment="support-bot", model="gpt-4o", messages=[...],
                        response="...", latency_ms=812, input_tokens=120, output_tokens=80)

Calls only put a plain dict on a bounded queue and return; a background thread sends
batches to POST /v1/events, retrying with exponential backoff and jitter. When the queue
is full new events are dropped and counted (`stats["dropped"]`): memory stays bounded and
the caller never waits. Nothing here raises into the caller. Pending events are flushed
when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("firebreak.client")
_STOP = object()


class Client:
    """Batches events in a background thread and sends them to a Firebreak server."""

    def __init__(self, url: str | None = None, token: str | None = None, *,
                 batch_size: int = 500, flush_interval: float = 1.0, max_queue: int = 10_000,
                 max_retries: int = 5, backoff: float = 0.2, max_backoff: float = 10.0,
                 timeout: float = 10.0, deployment: str | None = None) -> None:
        self.url = (url or os.environ.get("FIREBREAK_URL") or "http://127.0.0.1:8700").rstrip("/")
        self._token = token or os.environ.get("FIREBREAK_TOKEN", "")
        self.deployment = deployment or os.environ.get("FIREBREAK_DEPLOYMENT", "default")
        self.batch_size, self.flush_interval = batch_size, flush_interval
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.timeout = timeout
        self.stats: Counter[str] = Counter()
        self.last_refused: list[dict[str, Any]] = []
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._flushed = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="firebreak-client", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- the caller's side: cheap, never raises ------------------------------------------

    def log_event(self, kind: str, deployment: str | None = None, /, **fields: Any
                  ) -> str | None:
        """Queue one event of `kind`; returns its event_id (None if it was dropped).

        `deployment` may be given by position or keyword; it defaults to the client's.
        """
        try:
            event = {k: v for k, v in fields.items() if v is not None}
            event["kind"] = kind
            event["deployment"] = deployment or event.get("deployment") or self.deployment
            event.setdefault("event_id", uuid.uuid4().hex)
            ts = event.get("ts") or datetime.now(UTC)
            event["ts"] = ts.isoformat() if isinstance(ts, datetime) else ts
            if self._closed:
                self.stats["dropped"] += 1
                return None
            self._queue.put_nowait(event)
            self.stats["queued"] += 1
            return str(event["event_id"])
        except queue.Full:
            self.stats["dropped"] += 1
            return None
        except Exception:  # the caller's request path must never see our failure
            self.stats["dropped"] += 1
            log.debug("firebreak client: could not queue an event", exc_info=True)
            return None

    def log_llm_call(self, deployment: str | None = None, /, **fields: Any) -> str | None:
        """Queue an llm.call: model, messages, response, latency_ms, tokens, user_id, ..."""
        return self.log_event("llm.call", deployment, **fields)

    def log_prediction(self, deployment: str | None = None, /, **fields: Any) -> str | None:
        """Queue a prediction: features, output, score, prediction_id, ..."""
        fields.setdefault("prediction_id", uuid.uuid4().hex)
        return self.log_event("prediction", deployment, **fields)

    def log_label(self, deployment: str | None = None, /, **fields: Any) -> str | None:
        """Queue the ground truth for an earlier prediction: prediction_id=..., label=..."""
        return self.log_event("label", deployment, **fields)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far was sent (or given up on); True if so."""
        deadline = time.monotonic() + timeout
        with self._flushed:
            while self._queue.unfinished_tasks and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._flushed.wait(min(left, 0.05))
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is pending and stop the sender thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush(timeout)
            self._queue.put(_STOP, timeout=1)
            self._thread.join(timeout=1)
        except Exception:
            log.debug("firebreak client: close did not finish cleanly", exc_info=True)
        atexit.unregister(self.close)

    # -- the sender thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # e.g. a malformed URL: stop sending, keep the caller safe
            log.warning("firebreak client: sender stopped", exc_info=True)
            self._closed = True
            self._discard_pending()

    def _discard_pending(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
            self.stats["dropped"] += 1
            self._done(1)

    def _loop(self) -> None:
        import httpx

        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        with httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout) as http:
            while True:
                batch, stop = self._next_batch()
                if batch:
                    try:
                        self._send(http, batch)
                    except Exception:  # a bug here must not kill the thread
                        self.stats["failed"] += len(batch)
                        log.warning("firebreak client: batch lost", exc_info=True)
                    self._done(len(batch))
                if stop:
                    self._done(1)
                    return

    def _next_batch(self) -> tuple[list[dict[str, Any]], bool]:
        """Up to batch_size events, waiting at most flush_interval after the first."""
        batch: list[dict[str, Any]] = []
        first = self._queue.get()
        if first is _STOP:
            return batch, True
        batch.append(first)
        deadline = time.monotonic() + self.flush_interval
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:  # send what we have, then stop
                return batch, True
            batch.append(item)
        return batch, False

    def _done(self, n: int) -> None:
        for _ in range(n):
            self._queue.task_done()
        with self._flushed:
            self._flushed.notify_all()

    def _send(self, http: Any, batch: list[dict[str, Any]]) -> None:
        import httpx
        import orjson

        body = orjson.dumps(batch, default=str)
        for attempt in range(self.max_retries + 1):
            try:
                resp = http.post("/v1/events", content=body)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    self._record(resp.json(), len(batch))
                    return
                if resp.status_code == 413 and len(batch) > 1:
                    half = len(batch) // 2  # too big for the server: send it in halves
                    self._send(http, batch[:half])
                    self._send(http, batch[half:])
                    return
                reason = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code != 429 and resp.status_code < 500:
                    break  # the server will not change its mind
            if attempt < self.max_retries:
                self.stats["retries"] += 1
                delay = min(self.backoff * 2 ** attempt, self.max_backoff)
                time.sleep(delay * random.uniform(0.5, 1.0))
        self.stats["failed"] += len(batch)
        log.warning("firebreak client: %d events not delivered (%s)", len(batch), reason)

    def _record(self, answer: dict[str, Any], sent: int) -> None:
        self.stats["sent"] += sent
        self.stats["accepted"] += int(answer.get("accepted", 0))
        self.stats["duplicates"] += int(answer.get("duplicates", 0))
        refused = answer.get("refused") or []
        self.stats["refused"] += len(refused)
        if refused:
            self.last_refused = refused[:20]
            first = refused[0]
            log.warning("firebreak client: %d events refused, e.g. #%s %s: %s", len(refused),
                        first.get("index"), first.get("field"), first.get("reason"))


_default: Client | None = None
_default_lock = threading.Lock()


def init(url: str | None = None, token: str | None = None, **options: Any) -> Client:
    """Configure the module-level client (replacing any earlier one) and return it."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Client(url, token, **options)
        return _default


def _client() -> Client:
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def log_llm_call(deployment: str | None = None, /, **fields: Any) -> str | None:
    """Queue an llm.call on the module-level client (see `Client.log_llm_call`)."""
    try:
        return _client().log_llm_call(deployment, **fields)
    except Exception:
        return None


def log_prediction(deployment: str | None = None, /, **fields: Any) -> str | None:
    """Queue a prediction on the module-level client."""
    try:
        return _client().log_prediction(deployment, **fields)
    except Exception:
        return None


def log_label(deployment: str | None = None, /, **fields: Any) -> str | None:
    """Queue a label (prediction_id=..., label=...) on the module-level client."""
    try:
        return _client().log_label(deployment, **fields)
    except Exception:
        return None


def flush(timeout: float = 30.0) -> bool:
    """Wait for the module-level client to send what is queued."""
    return _default.flush(timeout) if _default is not None else True
