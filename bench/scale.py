"""Scaled topology benchmark: worker events/s (1 and 2 workers on NATS JetStream and
PostgreSQL) and gateway requests/s (1 and 2 replicas sharing Redis rate limits), each
beside the embedded default measured in the same run.

Workers: N llm.call events are published to JetStream first; then k worker processes
(forked) fold them into partial windows in PostgreSQL with event-id dedupe; the clock
and the workers' CPU time run from the first committed batch (start-up excluded) until
every event is recorded. Events per worker CPU-second is the planning figure: on a shared
machine the wall-clock rate mostly measures what the other processes left us.
Embedded: the monitor stage folding the same events in process (in-memory windows, no
per-batch commit).
Gateway: k gateway processes behind one loopback upstream, a rate limit that admits all
(so the limiter runs on every request), one load process with 16 connections.

    python bench/scale.py            # full run (20k events, 10 s of gateway load)
    python bench/scale.py --smoke    # small (CI): 4k events, 1 s of load
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

FORK = mp.get_context("fork")
PG_ADMIN = os.environ.get("FIREBREAK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NATS = "nats://127.0.0.1:4222"
REDIS = "redis://127.0.0.1:6379/0"
MONITOR = {"window_seconds": 60, "grace_seconds": 3600, "tick_seconds": 3600}
PUBLISH_CPU: list[float] = []  # CPU seconds per event published to JetStream, per run


def events(n: int) -> list[Any]:
    from firebreak.events import LLMCall

    now = datetime.now(UTC)
    return [LLMCall(event_id=f"e{i}", deployment=f"dep{i % 4}", ts=now, latency_ms=100 + i % 50,
                    input_tokens=20, output_tokens=40, response="ok",
                    status="error" if i % 50 == 0 else "ok") for i in range(n)]


def fresh_db() -> str:
    from sqlalchemy import create_engine, text

    from firebreak.store import upgrade

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


def drop_db(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _worker(url: str, prefix: str) -> None:
    from firebreak.config import Settings
    from firebreak.runtime import Runtime
    from firebreak.scale.bus import open_bus
    from firebreak.scale.worker import ScaledMonitorStage
    from firebreak.store import Database

    async def run() -> None:
        settings = Settings(database_url=url, plugins={"monitor": MONITOR},
                            bus={"kind": "jetstream", "url": NATS, "prefix": prefix})
        rt = Runtime(settings=settings, db=Database(url), bus=open_bus(settings))
        await ScaledMonitorStage(rt).start()
        await rt.bus.start()
        await asyncio.sleep(3600)

    asyncio.run(run())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux /proc)."""
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scaled_workers(n: int, k: int) -> tuple[float, float]:
    """(events/s wall, events per worker CPU-second) with k worker processes over
    JetStream and PostgreSQL, both from the first committed batch to the last."""
    from sqlalchemy import func, select

    from firebreak.bus import EVENTS
    from firebreak.jetstream import JetStreamBus
    from firebreak.store import Database
    from firebreak.store.scale import SeenEventRow

    url, prefix = fresh_db(), f"bench{uuid.uuid4().hex[:8]}"
    batch = events(n)

    async def publish() -> float:
        """The API's side: CPU seconds to publish every event and have it acknowledged."""
        bus = JetStreamBus(url=NATS, prefix=prefix)
        await bus.publish(EVENTS, batch[:1])  # connect and create the stream first
        cpu = time.process_time()
        for i in range(1, n, 100):  # batches of 100, as POST /v1/events would
            await bus.publish(EVENTS, batch[i:i + 100])
        cpu = time.process_time() - cpu
        await bus.close()
        return cpu

    PUBLISH_CPU.append(asyncio.run(publish()) / (n - 1))
    procs = [FORK.Process(target=_worker, args=(url, prefix), daemon=True) for _ in range(k)]
    for p in procs:
        p.start()
    db = Database(url)
    first: tuple[float, int, float] | None = None  # steady state: from the first commit seen
    while True:
        with db.session() as s:
            done = int(s.scalar(select(func.count()).select_from(SeenEventRow)) or 0)
        if done and first is None:
            first = (time.perf_counter(), done, sum(_cpu_seconds(p.pid) for p in procs))
        if done >= n:
            break
        time.sleep(0.02)
    assert first is not None
    elapsed, n = time.perf_counter() - first[0], n - first[1]
    cpu = sum(_cpu_seconds(p.pid) for p in procs) - first[2]
    for p in procs:
        p.kill()
        p.join()
    db.dispose()

    async def cleanup() -> None:
        bus = JetStreamBus(url=NATS, prefix=prefix)
        await bus.delete_streams()
        await bus.close()

    asyncio.run(cleanup())
    drop_db(url)
    # A short run on a quiet machine can finish between two samples or inside one clock
    # tick of CPU: say "not measured" (nan) rather than divide by zero.
    return (n / elapsed if n > 0 and elapsed > 0 else float("nan"),
            n / cpu if n > 0 and cpu > 0 else float("nan"))


def embedded_monitor(n: int) -> tuple[float, float]:
    """(events/s wall, events per CPU-second) folded by the embedded monitor stage (in
    process, SQLite store)."""
    import tempfile

    from firebreak.config import Settings
    from firebreak.monitor.stage import MonitorStage
    from firebreak.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.open(Settings(database_url=f"sqlite:///{tmp}/b.db",
                                   plugins={"monitor": MONITOR}))
        stage, batch = MonitorStage(rt), events(n)

        async def fold() -> tuple[float, float]:
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(0, n, 256):
                await stage.handle(batch[i:i + 256])
            return time.perf_counter() - started, time.process_time() - cpu

        elapsed, cpu = asyncio.run(fold())
        rt.db.dispose()
    return n / elapsed, n / cpu


def _serve(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")


def _upstream_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    answer = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "Paris."}}],
              "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}

    async def chat(_request: Any) -> JSONResponse:
        return JSONResponse(answer)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    import socket

    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing on port {port}")


def _load(urls: list[str], seconds: float, out: Any) -> None:
    import httpx

    body = {"model": "m",
            "messages": [{"role": "user", "content": "What is the capital of France?"}]}
    done = [0]

    async def client(url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop:
                r = await http.post(f"{url}/v1/chat/completions", json=body,
                                    headers={"Authorization": "Bearer k1"})
                done[0] += r.status_code == 200

    async def run() -> None:
        await asyncio.gather(*(client(urls[i % len(urls)]) for i in range(16)))

    asyncio.run(run())
    out.put(done[0] / seconds)


def gateways(k: int, seconds: float, shared: bool) -> tuple[float, float]:
    """(requests/s, requests per gateway CPU-second) through k gateway replicas (Redis
    limits when `shared`)."""
    import tempfile

    from firebreak.config import GatewaySettings, Settings
    from firebreak.gateway.app import create_gateway_app
    from firebreak.store import open_database
    from firebreak.store.policy import RateLimit, update_policy

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gw.db"
        db = open_database(url)
        update_policy(db, "*", lambda p: p.model_copy(update={"rate_limits": [
            RateLimit(scope="deployment", rate=1e6, burst=1e6)]}), actor="bench")
        db.dispose()
        up = _port()
        procs = [FORK.Process(target=_serve, args=(_upstream_app(), up), daemon=True)]
        settings = Settings(database_url=url, redis_url=REDIS if shared else None,
                            bus={"prefix": f"bench{uuid.uuid4().hex[:8]}"},
                            gateway=GatewaySettings(upstream=f"http://127.0.0.1:{up}/v1"))
        ports = [_port() for _ in range(k)]
        procs += [FORK.Process(target=_serve, args=(create_gateway_app(settings), p),
                               daemon=True) for p in ports]
        for p in procs:
            p.start()
        for port in [up, *ports]:
            _wait(port)
        out = FORK.Queue()
        load = FORK.Process(target=_load, args=([f"http://127.0.0.1:{p}" for p in ports],
                                                seconds, out))
        cpu = sum(_cpu_seconds(p.pid) for p in procs[1:])
        load.start()
        rate = float(out.get())
        cpu = sum(_cpu_seconds(p.pid) for p in procs[1:]) - cpu
        load.join()
        for p in procs:
            p.kill()
            p.join()
    return rate, rate * seconds / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small and quick (CI)")
    args = parser.parse_args()
    n, seconds = (4_000, 1.0) if args.smoke else (20_000, 10.0)
    print(f"# bench/scale.py {'--smoke' if args.smoke else ''} (n={n}, load {seconds:.0f} s)")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    emb, emb_cpu = embedded_monitor(n)
    print(f"monitor, embedded (1 process):      {emb:10.0f} events/s  "
          f"{emb_cpu:8.0f} events per CPU-s")
    for k in (1, 2):
        rate, per_cpu = scaled_workers(n, k)
        print(f"workers, scaled ({k} process{'es' if k > 1 else ''}):"
              f"{'' if k > 1 else '  '}      {rate:10.0f} events/s  {per_cpu:8.0f} events per "
              f"worker CPU-s  ({rate / emb:.2f} x embedded wall)")
    print(f"JetStream publish (API side, batches of 100): "
          f"{1e6 * sum(PUBLISH_CPU) / len(PUBLISH_CPU):.0f} µs CPU per event")
    print(f"load average after the workers: {os.getloadavg()[0]:.1f}")
    base, base_cpu = gateways(1, seconds, shared=False)
    print(f"gateway, embedded (1, local limits): {base:9.0f} requests/s  "
          f"{base_cpu:6.0f} requests per gateway CPU-s")
    for k in (1, 2):
        rate, per_cpu = gateways(k, seconds, shared=True)
        print(f"gateway, scaled ({k}, Redis limits):   {rate:9.0f} requests/s  "
              f"{per_cpu:6.0f} requests per gateway CPU-s  ({rate / base:.2f} x embedded)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
