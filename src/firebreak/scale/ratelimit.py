"""Token buckets shared by every gateway replica, in Redis (extra `scale`).

Same interface as firebreak.gateway.ratelimit.RateLimiter. Each check runs one Lua script
on the Redis server: it refills and takes from every matching bucket atomically, using the
server's clock, so replicas never race and never disagree about time. A bucket is a hash
{tokens, stamp} that expires once it would be full again.

If Redis is unreachable the limiter follows the deployment's `redis_on_loss`: "open"
admits the request, "closed" refuses it (Retry-After 1 s). After a failure it does not
try Redis again for `retry_seconds`, so a dead Redis does not add a timeout to every call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from firebreak import metrics
from firebreak.config import Settings
from firebreak.errors import MissingDependency
from firebreak.gateway.ratelimit import RateLimiter
from firebreak.store.policy import RateLimit

log = structlog.get_logger(__name__)

# KEYS: bucket keys. ARGV: rate_1, burst_1, rate_2, burst_2, ... Returns the longest wait
# (seconds, as a string) over the buckets; "0" when a token was taken from each.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(b[1]) or burst
  local stamp = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
  if tokens >= 1 then
    tokens = tokens - 1
  else
    wait = math.max(wait, (1 - tokens) / rate)
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'stamp', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + 1000)
end
return tostring(wait)
"""


class RedisRateLimiter:
    """Checks a request against every rate limit that applies to it, across replicas."""

    def __init__(self, url: str, *, prefix: str = "firebreak:rl", on_loss: str = "open",
                 on_loss_by_deployment: Mapping[str, str] | None = None,
                 timeout: float = 0.25, retry_seconds: float = 1.0) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise MissingDependency("redis", "scale") from exc
        self.client = redis.Redis.from_url(url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout)
        self.script = self.client.register_script(TAKE)
        self.prefix = prefix
        self.on_loss = on_loss
        self.on_loss_by_deployment = dict(on_loss_by_deployment or {})
        self.retry_seconds = retry_seconds
        self._down_until = 0.0

    def check(self, deployment: str, limits: list[RateLimit],
              keys: dict[str, str | None]) -> float:
        """0.0 if allowed, else the seconds to wait (Retry-After) for the tightest limit."""
        buckets = self._buckets(deployment, limits, keys)
        if not buckets:
            return 0.0
        if time.monotonic() < self._down_until:
            return self._lost(deployment)
        try:
            wait = self.script(keys=[k for k, _ in buckets],
                               args=[v for _, rb in buckets for v in rb])
        except Exception as exc:  # Redis unreachable or failing: the configured fallback
            log.warning("gateway.redis_unavailable", error=str(exc))
            self._down_until = time.monotonic() + self.retry_seconds
            return self._lost(deployment)
        return float(wait)

    def _buckets(self, deployment: str, limits: list[RateLimit], keys: dict[str, str | None]
                 ) -> list[tuple[str, tuple[float, float]]]:
        now = datetime.now(UTC)
        out = []
        for rule in limits:
            if rule.expires_at is not None and rule.expires_at <= now:
                continue
            value = deployment if rule.scope == "deployment" else keys.get(rule.scope)
            if value is None or (rule.key != "*" and rule.key != value):
                continue
            # Same identity as the in-process buckets: a rule kept by a policy change keeps
            # its state; a changed rate or burst starts a fresh bucket.
            name = f"{self.prefix}:{deployment}:{rule.scope}:{rule.key}:{rule.rate}:{rule.burst}"
            out.append((f"{name}:{value}", (rule.rate, rule.burst)))
        return out

    def _lost(self, deployment: str) -> float:
        mode = self.on_loss_by_deployment.get(deployment, self.on_loss)
        metrics.gateway_redis_fallback.labels(mode=mode).inc()
        return 0.0 if mode == "open" else 1.0


def limiter_for(settings: Settings) -> Any:
    """The shared Redis limiter when `redis_url` is set, else the in-process one."""
    if not settings.redis_url:
        return RateLimiter()
    by_dep = {d.name: d.redis_on_loss for d in settings.gateway.deployments if d.redis_on_loss}
    return RedisRateLimiter(settings.redis_url, prefix=f"{settings.bus.prefix}:rl",
                            on_loss=settings.redis_on_loss, on_loss_by_deployment=by_dep)
