"""Time from an incident's creation to its first containment action in effect at the gateway.

Embedded default: one process, SQLite (WAL) file, the in-process bus, the playbooks stage
with the built-in playbooks, and the gateway's own PolicyCache polling the store (as
`firebreak gateway` does). Each round opens a prompt-injection incident the way the
incidents stage does (store, then a message on bus.INCIDENTS) and measures until
(a) the guard-policy version is visible in the store and (b) the gateway's cache enforces
strict mode and the blocked keys. Rounds run one after another, each after the previous
run (with its evidence and report steps) has finished.

    python bench/engine.py            # 40 incidents
    python bench/engine.py --smoke    # 5 incidents (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from firebreak import bus
from firebreak.config import Settings
from firebreak.runtime import Runtime
from firebreak.store.incidents import Incident, create_incident, new_incident_id
from firebreak.store.policy import get_policy

TARGET_SECONDS = 1.0


def _incident(deployment: str) -> Incident:
    now = datetime.now(UTC)
    return Incident(id=new_incident_id(), deployment=deployment, category="prompt_injection",
                    severity="SEV2", status="detected", title="bench", opened_at=now,
                    updated_at=now, facts={"top_api_keys": "key-a,key-b"})


async def _round(runtime: Runtime, cache: object, n: int) -> tuple[float, float]:
    deployment = f"bench-{n}"
    start = time.perf_counter()
    incident = await asyncio.to_thread(create_incident, runtime.db, _incident(deployment))
    await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": incident.id, "change": "opened"}])
    in_store = at_gateway = None
    while at_gateway is None or in_store is None:
        if in_store is None and get_policy(runtime.db, deployment).version > 0:
            in_store = time.perf_counter() - start
        policy = cache.effective(deployment)  # type: ignore[attr-defined]
        if at_gateway is None and policy.mode == "strict" and policy.blocked_api_keys:
            at_gateway = time.perf_counter() - start
        if time.perf_counter() - start > 30:
            raise RuntimeError(f"round {n}: containment not in effect after 30 s")
        await asyncio.sleep(0.005)
    # Let the rest of the run (evidence, report) finish so rounds do not queue behind it.
    engine = runtime.extras["playbook_engine"]
    while any(not t.done() for t in engine.tasks.values()):
        await asyncio.sleep(0.05)
    return in_store, at_gateway


async def main(rounds: int) -> int:
    from firebreak.gateway.policy_cache import PolicyCache

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                            data_dir=Path(tmp) / "data")
        runtime = Runtime.open(settings)
        await runtime.start(["firebreak.playbooks.stage:create"])
        cache = PolicyCache(runtime.db)
        await cache.start()
        try:
            results = [await _round(runtime, cache, n) for n in range(rounds)]
        finally:
            await cache.stop()
            await runtime.stop()
    store = sorted(r[0] for r in results)
    gateway = sorted(r[1] for r in results)
    p90 = lambda xs: xs[min(len(xs) - 1, int(len(xs) * 0.9))]  # noqa: E731
    print(f"rounds: {rounds}  (gateway policy poll: {cache.poll_seconds:g} s)")
    print(f"incident -> policy version in store : median {statistics.median(store):.3f} s, "
          f"p90 {p90(store):.3f} s")
    print(f"incident -> in effect at the gateway: median {statistics.median(gateway):.3f} s, "
          f"p90 {p90(gateway):.3f} s  (target <= {TARGET_SECONDS:g} s median)")
    return 0 if statistics.median(gateway) <= TARGET_SECONDS else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5 rounds (CI)")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(5 if args.smoke else args.rounds)))
