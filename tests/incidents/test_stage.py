"""The stage on the bus: signals in, incidents and {"incident_id", "change"} out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from firebreak import bus
from firebreak.incidents.stage import IncidentsStage
from firebreak.runtime import Runtime
from firebreak.store.alerting import SignalRow
from firebreak.store.incidents import list_incidents

from .conftest import FakeClock, settings_for, signal


async def test_signals_on_the_bus_become_incidents_with_changes_published(
        sqlite_url: str, clock: FakeClock) -> None:
    runtime = Runtime.open(settings_for(sqlite_url))
    stage = IncidentsStage(runtime, clock=clock)
    runtime.stages.append(stage)
    changes: list[dict[str, Any]] = []
    runtime.bus.subscribe(bus.INCIDENTS, changes.extend, name="test")
    await runtime.start([])
    try:
        await runtime.bus.publish(bus.SIGNALS, [
            signal(category="prompt_injection", share=0.01, ts=clock()),
            {"deployment": "bot", "not": "a signal"},  # refused alone, the rest goes on
            signal(category="prompt_injection", share=0.5, ts=clock()).model_dump(),
        ])
        await runtime.bus.drain()
        (inc,) = list_incidents(runtime.db)
        assert inc.severity == "SEV1"
        with runtime.db.session() as session:  # signals are kept, linked to the incident
            stored = list(session.scalars(select(SignalRow.incident_id)))
        assert stored == [inc.id, inc.id]
        assert changes == [{"incident_id": inc.id, "change": "opened"},
                           {"incident_id": inc.id, "change": "severity"}]
        clock.advance(10)
        await runtime.bus.publish(bus.SIGNALS, [signal("resolved", category="prompt_injection",
                                                       ts=clock())])
        await runtime.bus.drain()
        clock.advance(runtime.settings.incidents.auto_resolve_after_seconds + 1)
        await stage.tick()
        await runtime.bus.drain()
        assert changes[-1] == {"incident_id": inc.id, "change": "resolved"}
        assert list_incidents(runtime.db)[0].status == "resolved"
    finally:
        await runtime.stop()
