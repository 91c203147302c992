"""The gateway's shared connection pool to upstreams (aiohttp: per call it costs a few
times less CPU than httpx, whose pool checks every idle connection on each request).

Timeouts mirror `gateway.timeout_seconds`: connecting (including the wait for a pooled
connection) and each read of the answer; a long stream that keeps sending is not cut.
"""

from __future__ import annotations

import asyncio
import functools
import urllib.request
from urllib.parse import urlsplit

import aiohttp

# what a failed upstream call raises: refused, reset, timed out, broken payload
UPSTREAM_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def upstream_session(timeout_seconds: float, max_connections: int = 1000) -> aiohttp.ClientSession:
    """A keep-alive pool for upstream calls; create it inside the running event loop."""
    timeout = aiohttp.ClientTimeout(total=None, connect=timeout_seconds,
                                    sock_connect=timeout_seconds, sock_read=timeout_seconds)
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0,
                                     keepalive_timeout=15)
    # trust_env stays off: aiohttp would re-read the proxy variables and ~/.netrc in a
    # thread on every request; `proxy_for` resolves the proxy once per upstream instead
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


@functools.lru_cache(maxsize=256)
def proxy_for(base_url: str) -> str | None:
    """The HTTP(S)_PROXY that applies to an upstream (None under NO_PROXY), as httpx did."""
    parts = urlsplit(base_url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy
