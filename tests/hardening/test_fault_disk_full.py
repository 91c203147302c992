"""Fault: the disk under SQLite fills up. Ingest answers a clear 503 (never a 500), what
was acknowledged stays, the database is not corrupted, and ingest recovers as soon as
space returns. The test mounts its own small tmpfs (root only; skipped otherwise)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from firebreak.api.app import create_app
from firebreak.runtime import Runtime
from spine.shared import BOOT_TOKEN, LiveServer, make_settings

HEADERS = {"Authorization": f"Bearer {BOOT_TOKEN}"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _batch(start: int, n: int) -> list[dict[str, object]]:
    return [{"kind": "llm.call", "event_id": f"e{i}", "deployment": "bot", "model": "m",
             "messages": [{"role": "user", "content": "x" * 2000}], "response": "ok"}
            for i in range(start, start + n)]


def _fill(path: Path) -> None:
    with path.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_full_disk_gives_503_then_recovers(small_disk: Path) -> None:
    db_file = small_disk / "firebreak.db"
    cfg = make_settings(f"sqlite:///{db_file}", api={"rate_limit_per_second": 0})
    runtime = Runtime.open(cfg)
    acked: set[str] = set()
    with LiveServer(create_app(cfg, runtime=runtime, stages=[])) as server, \
            httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as http:
        ok = http.post("/v1/events", json=_batch(0, 20))
        assert ok.status_code == 200
        acked |= {f"e{i}" for i in range(20)}
        _fill(small_disk / "filler")
        codes = []
        for k in range(1, 6):
            resp = http.post("/v1/events", json=_batch(k * 100, 50))
            codes.append(resp.status_code)
            if resp.status_code == 200:
                acked |= {f"e{i}" for i in range(k * 100, k * 100 + 50)}
            else:
                problem = resp.json()
                assert resp.status_code == 503, resp.text
                assert problem["errors"][0]["field"] == "store" and "disk full" in problem["detail"]
                assert resp.headers["retry-after"]
        assert 503 in codes
        (small_disk / "filler").unlink()
        again = http.post("/v1/events", json=_batch(900, 20))
        assert again.status_code == 200, again.text
        acked |= {f"e{i}" for i in range(900, 920)}
    runtime.db.dispose()
    conn = sqlite3.connect(db_file)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in conn.execute("SELECT event_id FROM events")}
    conn.close()
    assert acked <= stored
