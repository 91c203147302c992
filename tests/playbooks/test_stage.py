"""The stage inside the runtime: bus messages start runs; resolve undoes; restart resumes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from firebreak import bus
from firebreak.runtime import Runtime
from firebreak.store.incidents import get_incident, update_incident
from firebreak.store.playbooks import list_runs, list_steps, record_step
from firebreak.store.policy import get_policy

from .helpers import make_incident, settle

STAGE = ["firebreak.playbooks.stage:create"]


async def _wait_status(runtime: Runtime, incident_id: str, status: str) -> None:
    for _ in range(400):
        runs = list_runs(runtime.db, incident_id=incident_id)
        if runs and runs[0].status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run never became {status}: {runs}")


async def test_bus_messages_drive_runs(sqlite_url: str, tmp_path: Path) -> None:
    from playbooks.helpers import root
    make_settings = root().make_settings

    runtime = Runtime.open(make_settings(sqlite_url, data_dir=tmp_path / "data"))
    await runtime.start(STAGE)
    try:
        inc = make_incident(runtime.db, category="unsafe_output")
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id, "change": "opened"},
                                                  {"incident_id": "inc-missing",
                                                   "change": "opened"}])
        await _wait_status(runtime, inc.id, "succeeded")
        assert get_policy(runtime.db, inc.deployment).mode == "block"
        assert get_incident(runtime.db, inc.id).status == "contained"
        update_incident(runtime.db, inc.id, actor="t", message="fixed", status="resolved")
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id,
                                                   "change": "resolved"}])
        await _wait_status(runtime, inc.id, "compensated")
        assert get_policy(runtime.db, inc.deployment).mode == "monitor"
    finally:
        await runtime.stop()


async def test_start_resumes_an_interrupted_run(sqlite_url: str, tmp_path: Path) -> None:
    from playbooks.helpers import root
    make_settings = root().make_settings

    settings = make_settings(sqlite_url, data_dir=tmp_path / "data")
    settings.playbooks.engine_id = "same-host"
    first = Runtime.open(settings)
    await first.start(STAGE)
    inc = make_incident(first.db, category="system_prompt_leak")
    engine = first.extras["playbook_engine"]
    await engine.start_for(inc.id)
    await settle(engine, first.db)
    run = list_runs(first.db, incident_id=inc.id)[0]
    await first.stop()
    # Pretend the process died right after recording the intent of its first step.
    second = Runtime.open(settings)
    from firebreak.store.playbooks import set_run_status

    set_run_status(second.db, run.id, "running")
    record_step(second.db, run.id, "strict", status="intent", action="gateway.guard_mode",
                params={"mode": "strict"}, attempt=1)
    before = get_policy(second.db, inc.deployment).version
    await second.start(STAGE)
    try:
        await _wait_status(second, inc.id, "succeeded")
        steps = {s.step_key: s for s in list_steps(second.db, run.id)}
        assert steps["strict"].status == "succeeded" and steps["strict"].attempt == 2
        assert get_policy(second.db, inc.deployment).version == before  # not applied twice
    finally:
        await second.stop()


async def test_one_incident_slow_to_start_never_holds_up_another(sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    from playbooks.helpers import root
    make_settings = root().make_settings

    runtime = Runtime.open(make_settings(sqlite_url, data_dir=tmp_path / "data"))
    await runtime.start(STAGE)
    engine = runtime.extras["playbook_engine"]
    release, handled = asyncio.Event(), []
    real = engine.on_change

    async def on_change(incident_id: str, change: str) -> None:
        if incident_id == slow.id and change == "opened":
            await release.wait()  # this incident's start is stuck
        handled.append((incident_id, change))
        await real(incident_id, change)

    engine.on_change = on_change
    try:
        slow = make_incident(runtime.db, category="unsafe_output", deployment="slow")
        fast = make_incident(runtime.db, category="unsafe_output", deployment="fast")
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": slow.id, "change": "opened"},
                                                  {"incident_id": slow.id,
                                                   "change": "severity"}])
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": fast.id, "change": "opened"}])
        await _wait_status(runtime, fast.id, "succeeded")  # while the other is still stuck
        assert list_runs(runtime.db, incident_id=slow.id) == []
        assert handled == [(fast.id, "opened")]
        release.set()
        await _wait_status(runtime, slow.id, "succeeded")
        # One incident's messages stay in order.
        assert handled == [(fast.id, "opened"), (slow.id, "opened"), (slow.id, "severity")]
    finally:
        release.set()
        await runtime.stop()


async def test_start_undoes_runs_of_an_incident_resolved_while_down(sqlite_url: str,
                                                                    tmp_path: Path) -> None:
    from playbooks.helpers import root
    make_settings = root().make_settings

    settings = make_settings(sqlite_url, data_dir=tmp_path / "data")
    first = Runtime.open(settings)
    await first.start(STAGE)
    inc = make_incident(first.db, category="unsafe_output")
    await first.extras["playbook_engine"].start_for(inc.id)
    await _wait_status(first, inc.id, "succeeded")
    await first.stop()
    assert get_policy(first.db, inc.deployment).mode == "block"
    # Resolved while no engine ran: its "resolved" message never reached one.
    update_incident(first.db, inc.id, actor="t", message="fixed", status="resolved")
    second = Runtime.open(settings)
    await second.start(STAGE)
    try:
        await _wait_status(second, inc.id, "compensated")
        assert get_policy(second.db, inc.deployment).mode == "monitor"
    finally:
        await second.stop()
