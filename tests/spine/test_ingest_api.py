"""POST /v1/events on a live server: partial acceptance, idempotency, limits, bus publishing."""

from __future__ import annotations

import gzip
import time
from typing import Any

import httpx
import orjson

from firebreak.events import LLMCall
from firebreak.store.events import count_events
from spine.conftest import llm_calls
from spine.shared import BOOT_TOKEN, LiveServer, make_settings

AUTH = {"Authorization": f"Bearer {BOOT_TOKEN}"}


def _wait_for(predicate: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_99_good_1_bad_keeps_99_and_resend_stores_nothing(watched_api: Any) -> None:
    url, runtime, seen = watched_api
    batch: list[Any] = llm_calls(99)
    batch.insert(57, {**llm_calls(1, prefix="bad")[0], "latency_ms": "slow"})
    first = httpx.post(url + "/v1/events", json=batch, headers=AUTH, timeout=30)
    assert first.status_code == 200
    body = first.json()
    assert body["accepted"] == 99 and body["duplicates"] == 0
    assert [(r["index"], r["field"]) for r in body["refused"]] == [(57, "latency_ms")]
    assert "number" in body["refused"][0]["reason"]
    assert count_events(runtime.db) == 99
    _wait_for(lambda: len(seen) == 99)
    assert len(seen) == 99 and all(isinstance(e, LLMCall) for e in seen)

    again = httpx.post(url + "/v1/events", json=batch, headers=AUTH, timeout=30).json()
    assert again["accepted"] == 0 and again["duplicates"] == 99 and len(again["refused"]) == 1
    assert count_events(runtime.db) == 99
    time.sleep(0.2)
    assert len(seen) == 99  # duplicates are not published again


def test_ndjson_gzip_and_per_line_refusals(watched_api: Any) -> None:
    url, runtime, _ = watched_api
    lines = [orjson.dumps(e) for e in llm_calls(3)] + [b"{not json", b'{"kind": "nope"}',
                                                         b'[1]', b'{"deployment": "x"}']
    body = gzip.compress(b"\n".join(lines) + b"\n")
    resp = httpx.post(url + "/v1/events", content=body, timeout=30, headers={
        **AUTH, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    answer = resp.json()
    assert resp.status_code == 200 and answer["accepted"] == 3
    assert [(r["index"], r["field"]) for r in answer["refused"]] == [
        (3, "body"), (4, "kind"), (5, "event"), (6, "kind")]
    assert count_events(runtime.db) == 3


def test_unreadable_bodies_get_problems_naming_the_reason(watched_api: Any) -> None:
    url, _, _ = watched_api
    cases = [
        (b"[{", {}, 400, "not valid JSON"),
        (b'"hello"', {}, 400, "expected a JSON array"),
        (b"", {}, 400, "empty body"),
        (b"xx", {"Content-Encoding": "br"}, 415, "not supported"),
        (b"not gzip", {"Content-Encoding": "gzip"}, 400, "cannot gzip-decode"),
    ]
    for content, headers, status, words in cases:
        resp = httpx.post(url + "/v1/events", content=content, timeout=30,
                          headers={**AUTH, "Content-Type": "application/json", **headers})
        assert resp.status_code == status, (content, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert words in resp.json()["detail"] and resp.json()["errors"][0]["field"]


def test_size_batch_and_field_limits(sqlite_url: str) -> None:
    from firebreak.api.app import create_app
    from firebreak.config import ApiSettings

    api = ApiSettings(max_body_bytes=20_000, max_batch_events=10, max_field_chars=300)
    app = create_app(make_settings(sqlite_url, api=api), stages=[])
    with LiveServer(app) as server, httpx.Client(base_url=server.url, headers=AUTH) as http:
        big = http.post("/v1/events", content=b"[" + b" " * 30_000 + b"]")
        assert big.status_code == 413 and "20000" in big.json()["detail"]
        bomb = http.post("/v1/events", content=gzip.compress(b"[" + b" " * 100_000 + b"]"),
                         headers={"Content-Encoding": "gzip"})
        assert bomb.status_code == 413
        many = http.post("/v1/events", json=llm_calls(11))
        assert many.status_code == 413 and "10 per request" in many.json()["detail"]
        calls = llm_calls(3)
        calls[1]["messages"][0]["content"] = "x" * 301
        calls[2]["attributes"] = {"note": "y" * 301}
        answer = http.post("/v1/events", json=calls).json()
        assert answer["accepted"] == 1
        assert [(r["index"], r["field"]) for r in answer["refused"]] == [
            (1, "messages.0.content"), (2, "attributes.note")]


def test_redaction_applies_before_storage(watched_api: Any) -> None:
    url, runtime, _ = watched_api
    call = {**llm_calls(1)[0], "user_id": "alice", "session_id": "s-1",
            "messages": [{"role": "user", "content": "mail me at alice@example.com, card "
                          "4111 1111 1111 1111, key sk-proj-abcdefghijklmnopqrstuvwxyz12"}],
            "response": "call +1 415 555 0134"}
    assert httpx.post(url + "/v1/events", json=[call], headers=AUTH).json()["accepted"] == 1
    page = httpx.get(url + "/v1/events", params={"user_id": "alice"}, headers=AUTH).json()
    (stored,) = page["events"]
    assert stored["user_id"].startswith("anon_") and stored["session_id"].startswith("anon_")
    assert stored["messages"][0]["content"] == "mail me at [EMAIL], card [CARD], key [API_KEY]"
    assert stored["response"] == "call [PHONE]"


def test_bus_order_matches_commit_order_under_concurrency(watched_api: Any) -> None:
    import threading

    from firebreak.store.events import EventFilter, query_events

    url, runtime, seen = watched_api

    def send(k: int) -> None:
        with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
            for b in range(5):
                http.post("/v1/events", json=llm_calls(20, prefix=f"t{k}-{b}-"))

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _wait_for(lambda: len(seen) == 400)
    stored, _ = query_events(runtime.db, EventFilter(deployment="support-bot"), limit=1000)
    assert [e.event_id for e in seen] == [e["event_id"] for e in stored]
