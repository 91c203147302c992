"""Token-bucket rate limits from the guard policy, per deployment / API key / user / IP.

Buckets live in this process (one gateway); the scaled topology shares them via Redis.
A bucket is keyed by its rule and the caller's key, so a policy change that keeps a rule
keeps that rule's state.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from firebreak.store.policy import RateLimit


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float | None = None) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> float:
        """0.0 if a token was taken, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Checks a request against every rate limit that applies to it."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[object, ...], TokenBucket] = {}

    def check(self, deployment: str, limits: list[RateLimit],
              keys: dict[str, str | None]) -> float:
        """0.0 if allowed, else the seconds to wait (Retry-After) for the tightest limit."""
        now_wall = datetime.now(UTC)
        now = time.monotonic()
        wait = 0.0
        for rule in limits:
            if rule.expires_at is not None and rule.expires_at <= now_wall:
                continue
            value = deployment if rule.scope == "deployment" else keys.get(rule.scope)
            if value is None or (rule.key != "*" and rule.key != value):
                continue
            key = (deployment, rule.scope, rule.key, rule.rate, rule.burst, value)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(rule.rate, rule.burst, now)
            wait = max(wait, bucket.take(now))
        return wait
