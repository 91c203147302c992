"""Durability: SIGKILL the engine (a real subprocess) at 50 random points and restart it.

Every action's effect must happen exactly once: counted at a loopback receiver that
honours Idempotency-Key (as the user's endpoint should), and in the guard-policy history.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from firebreak.store import open_database
from firebreak.store.incidents import list_incidents
from firebreak.store.playbooks import list_runs, list_steps
from firebreak.store.policy import policy_changes

from .helpers import Receiver, make_incident

KILLS = 50
INCIDENTS = 11
HERE = Path(__file__).parent

PLAYBOOK = """
name: crash-test
match: {{category: prompt_injection}}
steps:
  - {{id: first, action: http.request, with: {{url: "{url}"}}}}
  - id: block
    action: gateway.block
    with: {{api_keys: "key-{{{{ incident.id }}}}", deployment: "{{{{ incident.id }}}}"}}
  - id: fan-out
    parallel:
      - {{id: left, action: http.request, with: {{url: "{url}"}}}}
      - {{id: right, action: http.request, with: {{url: "{url}"}}}}
  - id: strict
    action: gateway.guard_mode
    with: {{mode: strict, deployment: "{{{{ incident.id }}}}"}}
  - {{id: last, action: http.request, with: {{url: "{url}"}}}}
"""
HTTP_STEPS = ("first", "left", "right", "last")
POLICY_STEPS = ("block", "strict")


class Forker:
    """The warm parent of engine processes (see engine_proc.py)."""

    def __init__(self, url: str, pb: Path, data: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "engine_proc.py"), url,
                                      str(pb), str(data)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_sigkill_at_random_points_never_doubles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    db = open_database(url)
    rng = random.Random(7)
    with Receiver(delay=0.2) as rx:
        pb = tmp_path / "crash.yaml"
        pb.write_text(PLAYBOOK.format(url=rx.url))
        make_incident(db)
        forker = Forker(url, pb, tmp_path / "data")
        started = time.monotonic()
        try:
            for n in range(KILLS):
                if n and n % (KILLS // (INCIDENTS - 1)) == 0:  # new runs keep arriving
                    make_incident(db)
                rx.arrived.clear()
                pid = forker.ask("spawn")
                if n % 2:  # a random moment
                    time.sleep(rng.uniform(0.1, 0.9))
                else:  # the worst moment: a call is in flight, its outcome not yet recorded
                    rx.arrived.wait(1.5)
                assert forker.ask(f"kill {pid}") == "killed"
            assert forker.ask(f"wait {forker.ask('spawn')}") == "0"
        finally:
            forker.close()
        elapsed = time.monotonic() - started
        runs = list_runs(db)
        assert len(runs) == len(list_incidents(db)) >= 10
        assert {r.status for r in runs} == {"succeeded"}
        for run in runs:
            steps = {s.step_key: s.status for s in list_steps(db, run.id)}
            assert all(steps[s] == "succeeded" for s in HTTP_STEPS + POLICY_STEPS), steps
            for step in HTTP_STEPS:
                assert rx.effects[f"{run.id}:{step}"] == 1
            changes = policy_changes(db, deployment=run.incident_id)
            for step in POLICY_STEPS:
                tagged = [c for c in changes if c["reason"].endswith(f"[{run.id}:{step}]")]
                assert len(tagged) == 1, (step, tagged)
        assert set(rx.effects) == {f"{r.id}:{s}" for r in runs for s in HTTP_STEPS}
        redelivered = sum(rx.deliveries.values()) - sum(rx.effects.values())
        print(f"\n{KILLS} kills in {elapsed:.1f}s; {redelivered} calls in doubt repeated with "
              "the same key; every effect exactly once")
        assert redelivered >= 3  # kills really landed between a call and its recorded outcome
    db.dispose()
