"""Ingest throughput: accepted events/s over HTTP on loopback and through the Python client.

Starts a real `firebreak serve` on a temporary SQLite file, then
  1. HTTP: several concurrent senders POST pre-built batches of 500 llm.call events;
  2. client: `firebreak.client.Client.log_llm_call` in a loop, then flush;
  3. in-process: the same bodies through `Ingestor.ingest_body` (no HTTP), for the split.

    python bench/ingest.py            # full run (~200k events)
    python bench/ingest.py --smoke    # CI: a few seconds
    python bench/ingest.py --write    # full run, result written into docs/benchmarks.md
    python bench/ingest.py --profile  # cProfile of the in-process path, top functions
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

TOKEN = "fbk_bench_bootstrap_token"
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/ingest.py:begin -->", "<!-- bench/ingest.py:end -->"


START = datetime.now(UTC)


def event(i: int, run: str) -> dict[str, Any]:
    """A realistic llm.call: two messages, a response, tokens, latency, ids, and a `ts`
    like the Python client sets."""
    return {
        "kind": "llm.call", "event_id": f"{run}-{i}", "deployment": f"support-bot-{i % 4}",
        "ts": (START + timedelta(milliseconds=i)).isoformat(),
        "model": "gpt-4o-mini", "model_version": "2024-07-18",
        "messages": [{"role": "system", "content": "You are a helpful support assistant."},
                     {"role": "user", "content": f"Where is order {i}? It was due last week."}],
        "response": "Your order shipped yesterday and should arrive within two days.",
        "latency_ms": 300 + i % 700, "input_tokens": 42, "output_tokens": 17,
        "cost_usd": 0.00021, "user_id": f"user-{i % 5000}", "session_id": f"s-{i % 9000}",
        "api_key_id": f"key-{i % 50}", "request_id": uuid.uuid4().hex,
    }


def bodies(n_events: int, batch: int, run: str) -> list[bytes]:
    return [orjson.dumps([event(i, run) for i in range(start, min(start + batch, n_events))])
            for start in range(0, n_events, batch)]


def start_server(db_url: str, port: int, stages: bool) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("firebreak")
    env = {**os.environ, "FIREBREAK_DATABASE_URL": db_url, "FIREBREAK_BOOTSTRAP_TOKEN": TOKEN,
           "FIREBREAK_LOG_LEVEL": "warning"}
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd + ([] if stages else ["--no-stages"]), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("firebreak serve did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_run(url: str, payloads: list[bytes], senders: int) -> tuple[int, float]:
    """(accepted, seconds) for `senders` threads sharing `payloads`."""
    accepted = [0] * senders
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def send(k: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            for body in payloads[k::senders]:
                resp = http.post("/v1/events", content=body)
                resp.raise_for_status()
                accepted[k] += resp.json()["accepted"]

    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(accepted), time.perf_counter() - t0


def client_run(url: str, n_events: int, run: str) -> tuple[int, float, float]:
    """(accepted, seconds until flushed, caller microseconds per log call)."""
    from firebreak.client import Client

    client = Client(url, TOKEN, batch_size=500, flush_interval=0.2, max_queue=n_events + 1)
    events = [event(i, run) for i in range(n_events)]
    t0 = time.perf_counter()
    for e in events:
        client.log_llm_call(**e)
    t_calls = time.perf_counter() - t0
    client.flush(600)
    elapsed = time.perf_counter() - t0
    client.close()
    return client.stats["accepted"], elapsed, t_calls / n_events * 1e6


def inprocess_run(payloads: list[bytes], profile: bool) -> tuple[int, float]:
    """(accepted, seconds) through Ingestor.ingest_body on a fresh SQLite file, no HTTP."""
    from firebreak.config import Settings
    from firebreak.ingest.service import Ingestor
    from firebreak.store import open_database

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/inproc.db")
        ingestor = Ingestor(Settings(database_url=db.url))
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        accepted = sum(ingestor.ingest_body(db, body, ndjson=False, max_items=10_000).accepted
                       for body in payloads)
        elapsed = time.perf_counter() - t0
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(18)
        db.dispose()
    return accepted, elapsed


def stage_split(payloads: list[bytes]) -> tuple[int, dict[str, float]]:
    """CPU µs per event of each stage (time.process_time), one batch after another."""
    from firebreak.config import Settings
    from firebreak.ingest.group import GroupCommit
    from firebreak.ingest.service import Ingestor
    from firebreak.store import open_database

    cpu = {"validate": 0.0, "redact": 0.0, "store": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/stages.db")
        ingestor, commits = Ingestor(Settings(database_url=db.url)), GroupCommit()
        for body in payloads:
            t0 = time.process_time()
            events, _ = ingestor.validate_body(body, ndjson=False, max_items=10_000)
            t1 = time.process_time()
            for e in events:
                ingestor.redactor.redact(e)
            t2 = time.process_time()
            commits.write(db, events)
            t3 = time.process_time()
            for stage, secs in zip(cpu, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                cpu[stage] += secs
        db.dispose()
    n = sum(len(orjson.loads(b)) for b in payloads)
    return n, {stage: secs / n * 1e6 for stage, secs in cpu.items()}


def write_doc(text: str) -> None:
    current = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        current = head + text + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    DOC.write_text(current)


def server_run(payloads: list[bytes], n_client: int, args: Any, run: str, *, stages: bool
               ) -> dict[str, Any]:
    """HTTP (and, for the ingest-only server, client) figures against one fresh server."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = 18000 + os.getpid() % 1000 + (1 if stages else 0)
        proc = start_server(f"sqlite:///{tmp}/bench.db", port, stages)
        url = f"http://127.0.0.1:{port}"
        try:
            http_run(url, bodies(2 * args.batch, args.batch, run + "w"), args.senders)  # warm up
            cpu0 = cpu_seconds(proc.pid)
            out["accepted"], out["secs"] = http_run(url, payloads, args.senders)
            out["server_us"] = (cpu_seconds(proc.pid) - cpu0) / len(payloads) / args.batch * 1e6
            if not stages:
                out["client"] = client_run(url, n_client, run + "c")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process path")
    parser.add_argument("--with-stages", action="store_true",
                        help="also measure a server running every stage of the loop")
    args = parser.parse_args()
    n = 3_000 if args.smoke else args.events
    n_client = 1_000 if args.smoke else min(n, 50_000)
    run = uuid.uuid4().hex[:8]
    payloads = bodies(n, args.batch, run)

    ingest = server_run(payloads, n_client, args, run, stages=False)
    full = server_run(payloads, n_client, args, run, stages=True) if args.with_stages else None
    ip_acc, ip_secs = inprocess_run(payloads, args.profile)
    c_acc, c_secs, c_us = ingest["client"]
    assert ingest["accepted"] == n and c_acc == n_client and ip_acc == n
    name = f"HTTP, batches of {args.batch}, {args.senders} senders"
    rows = [(f"{name}, `serve --no-stages`", n, ingest["secs"], ingest["server_us"])]
    if full is not None:
        rows.append((f"{name}, `serve` with every stage", full["accepted"], full["secs"],
                     full["server_us"]))
    rows += [("Python client (log_llm_call, batch 500)", c_acc, c_secs, None),
             ("in process (Ingestor.ingest_body, no HTTP)", ip_acc, ip_secs, None)]
    lines = [f"| {label} | {count:,} | {secs:.2f} | {count / secs:,.0f} | "
             + (f"{us:.0f} µs ({1e6 / us:,.0f}/s)" if us else "–") + " |"
             for label, count, secs, us in rows]
    table = "\n".join(["| path | events | seconds | events/s | server CPU per event |",
                       "|---|---:|---:|---:|---:|", *lines])
    n_split, split = stage_split(payloads[:40])
    notes = (f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
             f"Client caller cost: {c_us:.1f} µs per `log_llm_call`. In-process CPU per "
             f"event (`time.process_time`, {n_split:,} events): "
             + ", ".join(f"{k} {v:.0f} µs" for k, v in split.items()) + ".")
    print(table)
    print(notes)
    if args.write and not args.smoke:
        flags = " --with-stages" if args.with_stages else ""
        write_doc(f"{BEGIN}\n## Ingest (bench/ingest.py)\n\nCommand: `.venv/bin/python bench/"
                  f"ingest.py --events {n} --senders {args.senders}{flags} --write` on "
                  f"{platform.machine()}, SQLite (WAL, synchronous=FULL), "
                  f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
                  f"{table}\n\n{notes}\n{END}")


if __name__ == "__main__":
    main()
