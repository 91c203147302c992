"""Fault: PostgreSQL restarts while ingest is running. The test starts its own cluster
(initdb / pg_ctl on a free port in a temporary folder), sends batches while restarting it,
and checks that clients that retry on 503 lose nothing that was acknowledged."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from firebreak.api.app import create_app
from firebreak.runtime import Runtime
from spine.shared import BOOT_TOKEN, LiveServer, free_port, make_settings

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _as_postgres(args: list[str]) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, capture_output=True, text=True, timeout=60)


@pytest.fixture
def cluster() -> Iterator[tuple[str, list[str]]]:
    if not BIN or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="fbk-pg-"))  # not under pytest's 0700 folders
    data = root / "pg"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    done = _as_postgres([f"{BIN[-1]}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres",
                         "--no-sync"])
    assert done.returncode == 0, done.stderr
    port = free_port()
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=on"
    ctl = [f"{BIN[-1]}/pg_ctl", "-D", str(data), "-o", opts, "-w", "-l", str(data / "log")]
    assert _as_postgres([*ctl, "start"]).returncode == 0
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", ctl
    finally:
        _as_postgres([*ctl, "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _sender(url: str, acked: set[str], stop: threading.Event, retries: list[int]) -> None:
    with httpx.Client(base_url=url, timeout=10,
                      headers={"Authorization": f"Bearer {BOOT_TOKEN}"}) as http:
        n = 0
        while not stop.is_set():
            ids = [f"pg{n}-{i}" for i in range(20)]
            body = [{"kind": "metric", "event_id": e, "deployment": "bot", "name": "x",
                     "value": 1.0} for e in ids]
            while True:  # a client that retries until the batch is acknowledged
                try:
                    resp = http.post("/v1/events", json=body)
                    if resp.status_code == 200:
                        acked.update(ids)
                        break
                    assert resp.status_code == 503, resp.text
                except httpx.TransportError:
                    pass
                retries[0] += 1
                time.sleep(0.2)
            n += 1


def test_restart_during_ingest_loses_nothing_acknowledged(cluster: tuple[str, list[str]]
                                                         ) -> None:
    url, ctl = cluster
    cfg = make_settings(url, api={"rate_limit_per_second": 0})
    runtime = Runtime.open(cfg)
    acked: set[str] = set()
    retries = [0]
    stop = threading.Event()
    with LiveServer(create_app(cfg, runtime=runtime, stages=[])) as server:
        thread = threading.Thread(target=_sender, args=(server.url, acked, stop, retries))
        thread.start()
        time.sleep(1.0)
        before = len(acked)
        assert _as_postgres([*ctl, "-m", "fast", "restart"]).returncode == 0
        time.sleep(1.5)
        stop.set()
        thread.join(timeout=60)
    runtime.db.dispose()
    assert before > 0 and len(acked) > before, (before, len(acked))
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT event_id FROM events"))}
    engine.dispose()
    assert acked <= stored, f"lost {len(acked - stored)} acknowledged events"

