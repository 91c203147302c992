"""A lean streaming response: each upstream chunk goes straight to the ASGI `send`.

Starlette's StreamingResponse runs every stream in an anyio task group (on uvicorn's ASGI
spec 2.3) to notice a client that went away; per chunk and per call that costs more CPU
than the relay itself. Here one plain asyncio task waits for `http.disconnect`, and the
loop stops at the next chunk once it has come (the upstream stream is then closed by the
iterator's own cleanup).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class Relay(Response):
    """Streams `chunks` chunk by chunk, with no buffering and no task group."""

    def __init__(self, chunks: AsyncIterator[bytes], status_code: int = 200,
                 headers: Mapping[str, str] | None = None, media_type: str | None = None) -> None:
        self.chunks = chunks
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:  # the request body was read already: next is disconnect
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            async for chunk in self.chunks:
                if gone.is_set():
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            aclose = getattr(self.chunks, "aclose", None)
            if aclose is not None:
                await aclose()  # runs the relay's `finally`: close upstream, scan, record
