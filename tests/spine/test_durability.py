"""Durable before the 2xx: SIGKILL `firebreak serve` right after it answers, count after restart."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from firebreak.store import open_database
from firebreak.store.events import count_events
from spine.conftest import ServeProcess, llm_calls
from spine.shared import BOOT_TOKEN

AUTH = {"Authorization": f"Bearer {BOOT_TOKEN}"}


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'durable.db'}"
    server = ServeProcess(db_url).start()
    acked: list[str] = []
    stop = threading.Event()

    def sender(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
            for b in range(1000):
                if stop.is_set():
                    return
                batch = llm_calls(50, prefix=f"s{n}-b{b}-")
                try:
                    resp = http.post("/v1/events", json=batch)
                except httpx.HTTPError:
                    return  # the server is gone: nothing after this was acknowledged
                if resp.status_code == 200:
                    assert resp.json()["accepted"] == 50
                    acked.extend(e["event_id"] for e in batch)
                    if len(acked) >= 600:
                        server.kill()  # SIGKILL right after a 2xx, others still in flight
                        stop.set()
                        return

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    server.kill()
    assert len(acked) >= 600

    restarted = ServeProcess(db_url).start()
    try:
        deps = httpx.get(restarted.url + "/v1/deployments", headers=AUTH).json()["deployments"]
        (dep,) = deps
        assert dep["event_count"] >= len(acked)
    finally:
        restarted.stop()
    db = open_database(db_url)
    try:
        from sqlalchemy import select

        from firebreak.store.models import EventRow

        with db.session() as s:
            stored = set(s.scalars(select(EventRow.event_id)))
        assert set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged events lost"
        assert count_events(db) == len(stored) >= len(acked)
    finally:
        db.dispose()
