"""The Python client against a live server: batching, retries with backoff, bounded memory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from firebreak.client import Client
from firebreak.store.events import EventFilter, count_events
from spine.shared import BOOT_TOKEN, LiveServer, free_port, make_settings


def test_logs_arrive_in_batches(watched_api: Any) -> None:
    url, runtime, seen = watched_api
    client = Client(url, BOOT_TOKEN, batch_size=200, flush_interval=0.05)
    for i in range(450):
        client.log_llm_call("support-bot", model="gpt-4o", latency_ms=i, input_tokens=3,
                            messages=[{"role": "user", "content": "hi"}])
    pid = client.log_prediction("credit-risk", features={"x": 1.0}, output=1)
    assert pid is not None
    client.log_label(deployment="credit-risk", prediction_id="p-1", label=1)
    client.log_llm_call("support-bot", kind="prediction", model="m")  # kind is the method's
    client.log_llm_call("support-bot", latency_ms=-1)  # refused by the server, not raised
    assert client.flush(20)
    client.close()
    assert count_events(runtime.db) == 453
    assert count_events(runtime.db, EventFilter(kind="label")) == 1
    assert client.stats["accepted"] == 453 and client.stats["refused"] == 1
    assert client.last_refused[0]["field"] == "latency_ms"
    assert client.log_llm_call("support-bot") is None and client.stats["dropped"] == 1  # closed


def test_retries_until_the_server_comes_up(tmp_path: Path) -> None:
    from firebreak.api.app import create_app

    port = free_port()
    client = Client(f"http://127.0.0.1:{port}", BOOT_TOKEN, flush_interval=0.01,
                    backoff=0.05, max_backoff=0.3, max_retries=30)
    ids = [client.log_llm_call("support-bot", model="m") for _ in range(20)]
    time.sleep(0.3)  # the first attempts fail: nothing listens yet
    assert client.stats["retries"] >= 1 and client.stats["accepted"] == 0
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'late.db'}"), stages=[])
    with LiveServer(app, port=port):
        assert client.flush(20)
    client.close()
    assert client.stats["accepted"] == 20 and client.stats["failed"] == 0 and all(ids)


def test_bounded_memory_and_never_raises() -> None:
    client = Client(f"http://127.0.0.1:{free_port()}", "t", max_queue=5, max_retries=0,
                    flush_interval=5.0, timeout=0.5)
    results = [client.log_llm_call("support-bot", blob=object()) for _ in range(50)]
    assert results.count(None) >= 40 and client.stats["dropped"] == results.count(None)
    broken = Client("http://[::1", "t")  # a malformed URL stops the sender, not the caller
    broken.log_llm_call("support-bot")
    broken.close(timeout=2)
    assert broken.log_llm_call("support-bot") is None and broken.stats["dropped"] >= 1
    client.close(timeout=5)  # gives up on the unreachable server without raising
    assert client.stats["failed"] + client.stats["dropped"] >= 45
