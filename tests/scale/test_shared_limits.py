"""Gateway rate limits shared in Redis: two gateway replicas hold the configured rate
together (within 5 %), and Redis loss follows the configured fail-open / fail-closed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from conftest import LiveServer, make_settings
from firebreak.config import GatewayDeployment, GatewaySettings
from firebreak.scale.ratelimit import RedisRateLimiter
from firebreak.store import open_database
from firebreak.store.policy import RateLimit, update_policy
from gateway.stub import Stub

from .scaletools import need_service

RATE, BURST, SECONDS = 10.0, 5.0, 7.0


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    need_service(6379, "Redis")
    prefix = f"fbt{uuid.uuid4().hex[:8]}"
    yield prefix
    import redis

    client = redis.Redis()
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


async def _hammer(urls: list[str], seconds: float) -> tuple[int, int, float]:
    """Requests through both gateways as fast as they go: (admitted, refused, seconds from
    the first admitted answer to the last; answers, not sends, track when the gateways
    decided on a machine this loaded, and refusals answered late say nothing about how
    long tokens were being handed out)."""
    counts = {200: 0, 429: 0}
    sent: list[float] = []
    stop = time.monotonic() + seconds
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}

    async def client(url: str) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            while time.monotonic() < stop:
                r = await http.post(f"{url}/v1/chat/completions", json=body,
                                    headers={"Authorization": "Bearer k1"})
                if r.status_code == 200:
                    sent.append(time.monotonic())
                counts[r.status_code] = counts.get(r.status_code, 0) + 1

    await asyncio.gather(*(client(u) for u in urls for _ in range(4)))
    assert set(counts) == {200, 429}, counts
    return counts[200], counts[429], max(sent) - min(sent)


async def test_two_gateways_hold_the_shared_rate(sqlite_url: str, redis_prefix: str) -> None:
    db = open_database(sqlite_url)
    update_policy(db, "*", lambda p: p.model_copy(update={"rate_limits": [
        RateLimit(scope="deployment", rate=RATE, burst=BURST)]}), actor="test")
    stub = Stub()
    with ExitStack() as stack:
        up = stack.enter_context(LiveServer(stub.app()))
        from firebreak.gateway.app import create_gateway_app

        settings = make_settings(
            sqlite_url, redis_url="redis://127.0.0.1:6379/0", bus={"prefix": redis_prefix},
            gateway=GatewaySettings(upstream=up.url + "/v1", policy_poll_seconds=0.1, scanners=[]))
        urls = [stack.enter_context(LiveServer(create_gateway_app(settings))).url
                for _ in range(2)]
        admitted, refused, elapsed = await _hammer(urls, SECONDS)
    db.dispose()
    allowed = BURST + RATE * elapsed
    assert refused > admitted  # the gateways were pushed well past the rate
    print(f"shared rate: admitted {admitted}, allowed {allowed:.1f} "
          f"({admitted / allowed - 1:+.1%}), refused {refused}")
    assert abs(admitted - allowed) <= 0.05 * allowed, (admitted, allowed, refused)


def test_redis_loss_fails_open_or_closed_per_deployment() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", on_loss="open",
                               on_loss_by_deployment={"payments": "closed"}, timeout=0.1)
    rule = [RateLimit(scope="deployment", rate=1, burst=1)]
    assert limiter.check("chat", rule, {}) == 0.0  # fail open: admitted
    assert limiter.check("payments", rule, {}) == 1.0  # fail closed: Retry-After 1 s
    assert limiter.check("chat", [], {}) == 0.0  # no rule applies: Redis not consulted


def test_limiter_chosen_by_settings(sqlite_url: str) -> None:
    from firebreak.gateway.ratelimit import RateLimiter
    from firebreak.scale.ratelimit import limiter_for

    assert isinstance(limiter_for(make_settings(sqlite_url)), RateLimiter)
    shared = limiter_for(make_settings(
        sqlite_url, redis_url="redis://127.0.0.1:6379/0", redis_on_loss="closed",
        gateway=GatewaySettings(deployments=[GatewayDeployment(
            name="chat", upstream="http://u/v1", redis_on_loss="open")])))
    assert isinstance(shared, RedisRateLimiter)
    assert (shared.on_loss, shared.on_loss_by_deployment) == ("closed", {"chat": "open"})
