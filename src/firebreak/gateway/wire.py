"""The OpenAI wire format: errors, locally made answers (safe message), and reading an
SSE stream as it passes through."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from starlette.responses import JSONResponse, Response, StreamingResponse


def error(status: int, message: str, kind: str, code: str, *, param: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in OpenAI's shape, so that OpenAI clients raise the matching exception."""
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _chat_obj(model: str, text: str, reason: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-fbk{uuid.uuid4().hex[:20]}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": reason}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def _text_obj(model: str, text: str, reason: str) -> dict[str, Any]:
    return {"id": f"cmpl-fbk{uuid.uuid4().hex[:20]}", "object": "text_completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def _sse_chunks(model: str, text: str, reason: str, chat: bool) -> Iterator[bytes]:
    base = {"id": f"chatcmpl-fbk{uuid.uuid4().hex[:20]}", "created": int(time.time()),
            "model": model}
    if chat:
        first = {**base, "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]}
        last = {**base, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
    else:
        first = {**base, "object": "text_completion",
                 "choices": [{"index": 0, "text": text, "finish_reason": None}]}
        last = {**base, "object": "text_completion",
                "choices": [{"index": 0, "text": "", "finish_reason": reason}]}
    for obj in (first, last):
        yield b"data: " + orjson.dumps(obj) + b"\n\n"
    yield b"data: [DONE]\n\n"


def local_answer(model: str, text: str, *, chat: bool, stream: bool,
                 reason: str = "content_filter", headers: dict[str, str] | None = None) -> Response:
    """A well-formed answer made by the gateway itself (kill switch, blocked prompt)."""
    if stream:
        return StreamingResponse(_sse_chunks(model, text, reason, chat),
                                 media_type="text/event-stream", headers=headers)
    obj = _chat_obj(model, text, reason) if chat else _text_obj(model, text, reason)
    return JSONResponse(obj, headers=headers)


class StreamReader:
    """Collects the answer text, finish reason and usage from SSE bytes as they pass.

    A relayed chunk is only kept (one append): the SSE events are parsed in batches, once
    `BATCH` bytes are waiting and whenever a result is read (after the stream), so the relay
    loop does no splitting or JSON work per chunk and a long stream holds at most `BATCH`
    raw bytes beside the text.
    """

    BATCH = 64 * 1024

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._size = 0
        self._rest = b""  # an event not complete yet
        self._parts: list[str] = []
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._model: str | None = None
        self._tools: dict[int, dict[str, str]] = {}  # tool-call index -> name, arguments

    def feed(self, data: bytes) -> None:
        self._pending.append(data)
        self._size += len(data)
        if self._size >= self.BATCH:
            self._catch_up()

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The streamed tool calls, their argument fragments joined, as OpenAI shapes them."""
        self._catch_up()
        return [{"function": {"name": t["name"], "arguments": t["arguments"]}}
                for _, t in sorted(self._tools.items())]

    @property
    def text(self) -> str:
        self._catch_up()
        return "".join(self._parts)

    @property
    def finish_reason(self) -> str | None:
        self._catch_up()
        return self._finish_reason

    @property
    def usage(self) -> dict[str, Any] | None:
        self._catch_up()
        return self._usage

    @property
    def model(self) -> str | None:
        self._catch_up()
        return self._model

    def _catch_up(self) -> None:
        """Parse every complete event fed so far; keep the incomplete tail for later."""
        if not self._pending:
            return
        # joined before normalising: a CR LF may be split between two chunks
        buf = (self._rest + b"".join(self._pending)).replace(b"\r\n", b"\n")
        self._pending.clear()
        self._size = 0
        *events, self._rest = buf.split(b"\n\n")
        for event in events:
            for line in event.splitlines():
                if line.startswith(b"data:"):
                    self._line(line[5:].strip())

    def _line(self, payload: bytes) -> None:
        if not payload or payload == b"[DONE]":
            return
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):  # not an OpenAI chunk: relayed, not read
            return
        self._model = obj.get("model") or self._model
        self._usage = obj.get("usage") or self._usage
        for choice in obj.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            piece = delta.get("content") if "delta" in choice else choice.get("text")
            if piece:
                self._parts.append(piece)
            for call in delta.get("tool_calls") or []:
                self._tool_delta(call)
            self._finish_reason = choice.get("finish_reason") or self._finish_reason

    def _tool_delta(self, call: Any) -> None:
        if not isinstance(call, dict):
            return
        fn = call.get("function")
        if not isinstance(fn, dict):
            return
        index = call.get("index")
        slot = self._tools.setdefault(index if isinstance(index, int) else 0,
                                      {"name": "", "arguments": ""})
        slot["name"] += str(fn.get("name") or "")
        slot["arguments"] += str(fn.get("arguments") or "")


def answer_tool_calls(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The first choice's `message.tool_calls` of a non-streamed chat completion."""
    choices = obj.get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    msg = first.get("message")
    calls = msg.get("tool_calls") if isinstance(msg, dict) else None
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def answer_text(obj: dict[str, Any]) -> str:
    """The first choice's text of a non-streamed chat or text completion."""
    choices = obj.get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    msg = first.get("message")
    if isinstance(msg, dict):
        return str(msg.get("content") or "")
    return str(first.get("text") or "")


def set_answer_text(obj: dict[str, Any], text: str) -> None:
    """Replace the first choice's text (redaction or safe message)."""
    first = (obj.get("choices") or [{}])[0]
    if isinstance(first.get("message"), dict):
        first["message"]["content"] = text
    elif "text" in first:
        first["text"] = text
