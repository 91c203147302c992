"""Token buckets: exact arithmetic, and limits that hold within 5% under concurrency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from firebreak.gateway.ratelimit import RateLimiter, TokenBucket
from firebreak.store import Database
from firebreak.store.policy import RateLimit, update_policy

from .stub import Stub


def test_bucket_arithmetic() -> None:
    b = TokenBucket(rate=2, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take(0.0) == 0.5  # one token per 0.5 s
    assert b.take(0.5) == 0.0 and b.take(0.5) > 0


def test_limiter_scopes_and_keys() -> None:
    lim = RateLimiter()
    rules = [RateLimit(scope="user", key="bob", rate=0.001, burst=1)]
    assert lim.check("d", rules, {"user": "bob"}) == 0.0
    assert lim.check("d", rules, {"user": "bob"}) > 0
    assert lim.check("d", rules, {"user": "alice"}) == 0.0  # the rule names bob only


async def _hammer(url: str, workers: int, want_limited: int,
                  max_seconds: float) -> tuple[int, int]:
    """Concurrent requests until `want_limited` were refused (or time runs out)."""
    ok = limited = 0
    async with httpx.AsyncClient(timeout=10) as client:
        stop = time.monotonic() + max_seconds

        async def worker() -> None:
            nonlocal ok, limited
            while time.monotonic() < stop and limited < want_limited:
                r = await client.post(f"{url}/v1/chat/completions", json={
                    "model": "m", "messages": [{"role": "user", "content": "hi"}]})
                if r.status_code == 200:
                    ok += 1
                else:
                    assert r.status_code == 429
                    limited += 1

        await asyncio.gather(*(worker() for _ in range(workers)))
    return ok, limited


async def test_deployment_limit_holds_under_concurrency(
        start_gateway: Callable[..., str], gw_db: Database, stub: Stub) -> None:
    # A deep bucket makes the count insensitive to clock skew on this shared machine, so
    # any over-admission under concurrency shows.
    rate, burst = 2.0, 30.0
    update_policy(gw_db, "*", lambda p: p.model_copy(update={"rate_limits": [
        RateLimit(scope="deployment", rate=rate, burst=burst)]}), actor="test")
    url = start_gateway()
    ok, limited = await _hammer(url, 16, want_limited=30, max_seconds=15)
    # Judge by when the admitted requests reached the upstream (the client's send times
    # are skewed by queueing on this shared machine).
    assert len(stub.times) == ok
    expected = burst + rate * (stub.times[-1] - stub.times[0])
    assert limited >= 30, "the load must exceed the limit for this test to mean anything"
    assert abs(ok - expected) / expected <= 0.05, (ok, expected)
