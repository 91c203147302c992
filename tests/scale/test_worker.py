"""The scaled monitor in-process on the real PostgreSQL: exact partial windows, dedupe,
and the advisory-lock closer election."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from conftest import make_settings
from firebreak.events import event_adapter
from firebreak.runtime import Runtime
from firebreak.scale.worker import ScaledMonitorStage
from firebreak.store.monitor import ProfileRow
from firebreak.store.scale import PartialRow

from .scaletools import aligned_now, replay_stream

MONITOR = {"monitor": {"window_seconds": 1, "grace_seconds": 0, "tick_seconds": 3600}}


def _runtime(url: str) -> Runtime:
    return Runtime.open(make_settings(url, plugins=MONITOR))


async def test_partials_merge_exactly_and_redelivery_counts_once(pg_url: str) -> None:
    a, b = _runtime(pg_url), _runtime(pg_url)
    wa, wb = ScaledMonitorStage(a), ScaledMonitorStage(b)
    base = aligned_now() - timedelta(seconds=30)
    events = [event_adapter.validate_python(e)
              for batch in replay_stream("shop.bot", base, 3, 40, [0, 0, 5]) for e in batch]
    assert wa.fold(events[:70]) == 70
    assert wb.fold(events[50:]) == 50  # 50..69 were redelivered to another worker
    assert wa.fold(events) == 0
    with a.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PartialRow)) >= 4
    closed = await wa.close_due() + await wb.close_due()
    assert closed == 3
    with a.db.session() as s:
        counts = s.execute(select(ProfileRow.window_start, ProfileRow.events)
                           .order_by(ProfileRow.window_start)).tuples().all()
        assert s.scalar(select(func.count()).select_from(PartialRow)) == 0
    assert [n for _, n in counts] == [40, 40, 40]
    assert wa.fold(events[:5]) == 0  # late redelivery after the close: still counted once
    for rt in (a, b):
        rt.db.dispose()


async def test_one_closer_at_a_time_and_reelected_when_it_dies(pg_url: str) -> None:
    a, b = _runtime(pg_url), _runtime(pg_url)
    wa, wb = ScaledMonitorStage(a), ScaledMonitorStage(b)
    await wa.close_due()
    await wb.close_due()
    assert (wa.leader, wb.leader) == (True, False)
    wa._lock_conn.invalidate()  # the closer's connection dies (as with a killed process)
    wa._lock_conn = None
    await wb.close_due()
    assert wb.leader
    await wa.close_due()
    assert not wa.leader
    await wb.stop()
    await wa.close_due()
    assert wa.leader
    await wa.stop()
    for rt in (a, b):
        rt.db.dispose()
