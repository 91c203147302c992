"""A local upstream speaking the OpenAI wire format (chat, completions, embeddings, models),
streaming chunk by chunk with a pause between chunks, and counting what reached it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class Stub:
    """Upstream state a test can read (requests seen) and set (reply, chunk pause)."""

    def __init__(self, name: str = "stub-a") -> None:
        self.name = name
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []  # time.monotonic() of each arrival
        self.reply: str | None = None  # None: echo the last user message
        self.chunks = 5
        self.pause = 0.0
        self.model: str | None = None  # None: answer with the requested model's name
        self.tool_calls: list[tuple[str, dict[str, Any]]] = []  # (name, arguments) to call

    def answer(self, body: dict[str, Any]) -> str:
        if self.reply is not None:
            return self.reply
        msgs = body.get("messages") or [{"content": body.get("prompt", "")}]
        return f"echo: {msgs[-1].get('content')}"

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/completions", self._completions, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"])])

    async def _seen(self, request: Request) -> dict[str, Any]:
        body = json.loads(await request.body())
        self.requests.append(body)
        self.times.append(time.monotonic())
        self.headers.append(dict(request.headers))
        return body

    async def _chat(self, request: Request) -> Response:
        body = await self._seen(request)
        text, model = self.answer(body), self.model or body.get("model", "gpt-4o-mini")
        if body.get("stream"):
            return StreamingResponse(self._sse(text, model, chat=True),
                                     media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(args)}}
                for i, (name, args) in enumerate(self.tool_calls)]
        return JSONResponse({
            "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": self.name,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if self.tool_calls else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

    async def _completions(self, request: Request) -> Response:
        body = await self._seen(request)
        text, model = self.answer(body), body.get("model", "gpt-3.5-turbo-instruct")
        if body.get("stream"):
            return StreamingResponse(self._sse(text, model, chat=False),
                                     media_type="text/event-stream")
        return JSONResponse({
            "id": "cmpl-1", "object": "text_completion", "created": int(time.time()),
            "model": model, "system_fingerprint": self.name,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})

    async def _embeddings(self, request: Request) -> Response:
        body = await self._seen(request)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse({"object": "list", "model": body.get("model"),
                             "data": [{"object": "embedding", "index": i,
                                       "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))],
                             "usage": {"prompt_tokens": 2, "total_tokens": 2}})

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": self.name}]})

    async def _sse(self, text: str, model: str, chat: bool) -> AsyncIterator[bytes]:
        size = max(1, -(-len(text) // self.chunks))
        pieces = [text[i:i + size] for i in range(0, len(text), size)]
        for i, piece in enumerate(pieces):
            if chat:
                delta = {"content": piece, **({"role": "assistant"} if i == 0 else {})}
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
                obj = "chat.completion.chunk"
            else:
                choice, obj = {"index": 0, "text": piece, "finish_reason": None}, "text_completion"
            yield _event({"id": "c1", "object": obj, "created": 0, "model": model,
                          "system_fingerprint": self.name, "choices": [choice]})
            if self.pause:
                await asyncio.sleep(self.pause)
        if chat:
            for event in self._sse_tool_calls(model):
                yield event
        last = {"index": 0, "delta": {}, "finish_reason": "stop"} if chat else \
            {"index": 0, "text": "", "finish_reason": "stop"}
        yield _event({"id": "c1", "object": "chat.completion.chunk" if chat else "text_completion",
                      "created": 0, "model": model, "choices": [last]})
        yield b"data: [DONE]\n\n"

    def _sse_tool_calls(self, model: str) -> list[bytes]:
        """Tool calls as OpenAI streams them: name first, the arguments in two fragments."""
        out = []
        for i, (name, args) in enumerate(self.tool_calls):
            raw = json.dumps(args)
            half = len(raw) // 2
            for k, fn in enumerate(({"name": name, "arguments": raw[:half]},
                                    {"arguments": raw[half:]})):
                call = {"index": i, "function": fn, **({"id": f"call_{i}", "type": "function"}
                                                       if k == 0 else {})}
                out.append(_event({"id": "c1", "object": "chat.completion.chunk", "created": 0,
                                   "model": model, "choices": [{"index": 0, "finish_reason": None,
                                                                "delta": {"tool_calls": [call]}}]}))
        return out


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chunk_arrivals(url: str, content: str) -> list[float]:
    """Seconds after the headers at which each SSE chunk of one streamed chat call arrived
    (a fresh connection each call)."""
    arrivals: list[float] = []
    with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=10, json={
            "model": "m", "stream": True,
            "messages": [{"role": "user", "content": content}]}) as r:
        t0 = time.monotonic()
        for chunk in r.iter_raw():
            if b"data:" in chunk:
                arrivals.append(time.monotonic() - t0)
    return arrivals
