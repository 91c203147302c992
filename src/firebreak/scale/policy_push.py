"""Policy changes pushed to gateways: PostgreSQL LISTEN/NOTIFY, with polling as fallback.

A trigger on guard_policies (migration 0012_scale) sends NOTIFY on channel
`firebreak_policy` with the deployment name after every change. Each gateway keeps one
connection LISTENing and refreshes its PolicyCache as soon as a notification arrives, so
a change reaches every replica in well under a second. The cache's own poll keeps
running: if the listening connection drops, the gateway reconnects every second and, in
between, the poll (at most 1 s) still applies changes; the last policy stays in force
while the control plane is unreachable. SQLite has no NOTIFY: nothing to start there.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)
CHANNEL = "firebreak_policy"


class PolicyListener:
    """LISTEN for policy changes and refresh `cache` on each one."""

    def __init__(self, cache: Any, database_url: str, retry_seconds: float = 1.0) -> None:
        self.cache = cache
        url = make_url(database_url)
        self.enabled = url.get_backend_name() == "postgresql"
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.retry_seconds = retry_seconds
        self.notified = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="gateway-policy-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.dsn, autocommit=True, connect_timeout=5) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await asyncio.to_thread(self.cache.refresh)  # changes while away
                    async for _note in conn.notifies():
                        self.notified += 1
                        await asyncio.to_thread(self.cache.refresh)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # control plane unreachable: poll covers; retry
                log.warning("gateway.policy_listen_failed", error=str(exc))
            await asyncio.sleep(self.retry_seconds)
