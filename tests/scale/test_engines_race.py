"""Two engine processes racing over 200 incidents: each containment action happens
exactly once, counted (every request, not only distinct keys) at the receiving server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from firebreak.bus import INCIDENTS
from firebreak.jetstream import JetStreamBus
from firebreak.store import open_database
from firebreak.store.playbooks import list_runs
from playbooks.helpers import Receiver, make_incident

from .scaletools import BOOT_TOKEN, write_config

INCIDENTS_N = 200
PLAYBOOK = """
name: race-contain
match: {{category: prompt_injection}}
steps:
  - {{id: contain, action: http.request, with: {{url: "{url}"}}}}
"""


@pytest.mark.slow
async def test_two_engines_run_each_action_once(pg_url: str, prefix: str, shared_nats: str,
                                                roles: Any, tmp_path: Path) -> None:
    db = open_database(pg_url)
    with Receiver() as rx:
        (tmp_path / "pb").mkdir()
        (tmp_path / "pb" / "race.yaml").write_text(PLAYBOOK.format(url=rx.url))
        config = write_config(
            tmp_path / "firebreak.yaml", database_url=pg_url, bootstrap_token=BOOT_TOKEN,
            log_level="warning", bus={"kind": "jetstream", "url": shared_nats, "prefix": prefix},
            playbooks={"dirs": [str(tmp_path / "pb")], "builtin": False, "lease_seconds": 5})
        engines = [roles(config, "engine"), roles(config, "engine")]
        for engine in engines:
            engine.ready()
        ids = [make_incident(db).id for _ in range(INCIDENTS_N)]
        bus = JetStreamBus(url=shared_nats, prefix=prefix)
        # Every incident announced twice ("opened", then "severity"), in interleaved
        # batches, so both engines see the same incidents and race to start their runs.
        for i in range(0, INCIDENTS_N, 20):
            chunk = ids[i:i + 20]
            await bus.publish(INCIDENTS, [{"incident_id": x, "change": "opened"} for x in chunk])
            await bus.publish(INCIDENTS, [{"incident_id": x, "change": "severity"}
                                          for x in reversed(chunk)])
        await bus.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = await asyncio.to_thread(list_runs, db, limit=1000)
            if len(runs) >= INCIDENTS_N and all(r.status == "succeeded" for r in runs):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # anything doubled would arrive now
        deliveries = dict(rx.deliveries)
    runs = list_runs(db, limit=1000)
    db.dispose()
    assert len(deliveries) == INCIDENTS_N
    assert set(deliveries.values()) == {1}  # every request, counted at the receiver
    assert Counter(r.incident_id for r in runs) == Counter(ids)  # one run per incident
    owners = Counter(r.owner for r in runs)
    assert len(owners) == 2, owners  # both engines took part
