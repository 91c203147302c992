"""The least a Python hop can do, for bench/gateway.py --bare-relay: the gateway's server
(uvicorn, httptools, uvloop) and upstream client (aiohttp), no framework, no guard.

    python bench/bare_relay.py --upstream http://127.0.0.1:PORT/v1 --port PORT

It relays POST /v1/chat/completions chunk by chunk and nothing else; what it adds beside
the gateway, in the same rounds, is the floor that any Python proxy on this machine pays.
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import uvicorn


def relay_app(upstream: str) -> Any:
    pool: dict[str, aiohttp.ClientSession] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pool["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                    limit=1000, limit_per_host=0, keepalive_timeout=15))
                await send({"type": "lifespan.startup.complete"})
            await pool["client"].close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] != "/v1/chat/completions":  # /healthz and the like
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        async with pool["client"].post(upstream + "/chat/completions", data=body,
                                       headers={"content-type": "application/json"}) as resp:
            await send({"type": "http.response.start", "status": resp.status,
                        "headers": [(b"content-type", b"text/event-stream")]})
            async for chunk in resp.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    uvicorn.run(relay_app(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port,
                log_level="warning")
