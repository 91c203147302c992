"""Policy changes pushed to gateways with PostgreSQL LISTEN/NOTIFY (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import time

from firebreak.gateway.policy_cache import PolicyCache
from firebreak.scale.policy_push import PolicyListener
from firebreak.store import Database
from firebreak.store.policy import update_policy


async def _until(check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not within the time"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_change_reaches_the_gateway_by_notify_alone(pg_url: str) -> None:
    db = Database(pg_url)
    cache = PolicyCache(db)  # its poll is NOT started: only the push can refresh it
    cache.refresh()
    listener = PolicyListener(cache, pg_url)
    await listener.start()
    await asyncio.sleep(0.5)  # LISTEN in place
    for mode in ("block", "strict"):
        await asyncio.to_thread(update_policy, db, "chat",
                                lambda p, m=mode: p.model_copy(update={"mode": m}), actor="t")
        took = await _until(lambda m=mode: cache.effective("chat").mode == m, 1.0)
        assert took < 1.0
    assert listener.notified >= 2
    await listener.stop()
    db.dispose()


async def test_sqlite_has_no_listener(sqlite_url: str) -> None:
    listener = PolicyListener(object(), sqlite_url)
    await listener.start()
    assert not listener.enabled and listener._task is None
    await listener.stop()
