"""Targets: what the red team attacks.

- `OpenAITarget`: any OpenAI-compatible endpoint (URL, model, key) over httpx; pointed at
  the Firebreak gateway it attacks the app *through* the gateway.
- `CallableTarget`: a Python function taking OpenAI-style messages.
- `RAGTarget`: wraps another target and inserts attack documents into the user's RAG
  index through a hook before each attempt (and removes them after).

Attack documents sent to a plain endpoint travel as a system message that starts with
"Context documents:", one document per line, the way many RAG apps stuff their prompt.
Sent to the gateway (`gateway=True`) they travel in its request extension
`{"firebreak": {"retrieved": [...]}}`, so its indirect-injection scanner sees each chunk.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from firebreak.errors import ValidationFailed
from firebreak.redteam.base import Conversation, Document, TargetResponse, ToolCall

CONTEXT_HEADER = "Context documents:"


def request_messages(conversation: Conversation, *, fold_documents: bool = True,
                     ) -> list[dict[str, Any]]:
    """The conversation as OpenAI messages, documents folded into a context message."""
    messages = conversation.messages()
    if conversation.documents and fold_documents:
        lines = [f"[{d.doc_id}] {' '.join(d.text.split())}" for d in conversation.documents]
        context = {"role": "system", "content": "\n".join([CONTEXT_HEADER, *lines])}
        messages.insert(1 if conversation.system else 0, context)
    return messages


def _tool_specs(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {
        "name": n, "description": f"{n.replace('_', ' ')}",
        "parameters": {"type": "object", "properties": {}}}} for n in names]


def _parse(body: dict[str, Any], status: int, started: float) -> TargetResponse:
    message = (body.get("choices") or [{}])[0].get("message") or {}
    calls = tuple(ToolCall(c.get("function", {}).get("name", ""),
                           c.get("function", {}).get("arguments", ""))
                  for c in message.get("tool_calls") or [])
    usage = body.get("usage") or {}
    return TargetResponse(text=message.get("content") or "", tool_calls=calls, status=status,
                          latency_ms=(time.perf_counter() - started) * 1000,
                          completion_tokens=usage.get("completion_tokens"))


def _error_text(response: httpx.Response) -> str:
    try:
        err = response.json().get("error") or response.json()
        return str(err.get("message") if isinstance(err, dict) else err)[:500]
    except ValueError:
        return response.text[:500] or f"HTTP {response.status_code}"


class OpenAITarget:
    """An OpenAI-compatible chat completions endpoint."""

    def __init__(self, url: str, model: str = "default", key: str | None = None, *,
                 name: str | None = None, timeout: float = 60.0,
                 max_tokens: int | None = None, gateway: bool = False) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValidationFailed("target", f"{url!r} is not an http(s) URL")
        base = url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else (
            f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions")
        self.model, self.max_tokens, self.gateway = model, max_tokens, gateway
        self.name = name or url
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def send(self, conversation: Conversation) -> TargetResponse:
        """POST the conversation; HTTP errors become a response with status and error."""
        body: dict[str, Any] = {"model": self.model, "messages": request_messages(
            conversation, fold_documents=not self.gateway)}
        if self.gateway and conversation.documents:
            # The gateway scans retrieved chunks passed in its extension, then inserts them.
            body["firebreak"] = {"retrieved": [{"doc_id": d.doc_id, "source": d.source,
                                                "text": d.text} for d in conversation.documents]}
        if conversation.tools:
            body["tools"] = _tool_specs(conversation.tools)
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        started = time.perf_counter()
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            return TargetResponse(status=0, error=f"{type(exc).__name__}: {exc}")
        if response.status_code >= 400:
            return TargetResponse(status=response.status_code, error=_error_text(response),
                                  latency_ms=(time.perf_counter() - started) * 1000,
                                  guard_action=response.headers.get("x-firebreak-action"))
        try:
            parsed = _parse(response.json(), response.status_code, started)
        except ValueError:
            return TargetResponse(status=response.status_code, error="answer is not JSON")
        action = response.headers.get("x-firebreak-action")
        return replace(parsed, guard_action=action) if action else parsed

    def close(self) -> None:
        self._client.close()


class CallableTarget:
    """A Python function `fn(messages)` or `fn(messages, tools)` returning text or a dict.

    A dict answer may carry `content` and `tool_calls` (OpenAI message shape).
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        where = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__name__', '?')}"
        self.name = name or f"python:{where}"
        try:
            self._takes_tools = len(inspect.signature(fn).parameters) >= 2
        except (TypeError, ValueError):  # some builtins have no signature
            self._takes_tools = False

    def send(self, conversation: Conversation) -> TargetResponse:
        messages = request_messages(conversation)
        started = time.perf_counter()
        try:
            out = (self.fn(messages, list(conversation.tools)) if self._takes_tools
                   else self.fn(messages))
        except Exception as exc:  # a user's function may raise anything; record, go on
            return TargetResponse(status=0, error=f"{type(exc).__name__}: {exc}")
        if isinstance(out, TargetResponse):
            return out
        if isinstance(out, dict):
            return _parse({"choices": [{"message": out}]}, 200, started)
        return TargetResponse(text=str(out), latency_ms=(time.perf_counter() - started) * 1000)


DocumentHook = Callable[[list[Document]], None]


class RAGTarget:
    """A RAG app: attack documents go into its index through `insert`, not the prompt."""

    def __init__(self, inner: Any, insert: DocumentHook, remove: DocumentHook | None = None,
                 name: str | None = None) -> None:
        self.inner, self.insert, self.remove = inner, insert, remove
        self.name = name or f"rag:{inner.name}"
        self._lock = threading.Lock()  # one attempt at a time: documents must not mix

    def transcript(self, conversation: Conversation) -> list[dict[str, Any]]:
        """What the app saw: the prompt, plus the documents placed in its index."""
        bare = Conversation(conversation.system, conversation.turns, (), conversation.tools)
        return request_messages(bare) + [{"role": "rag-index", "content": f"[{d.doc_id}] {d.text}"}
                                         for d in conversation.documents]

    def send(self, conversation: Conversation) -> TargetResponse:
        if not conversation.documents:
            return self.inner.send(conversation)  # type: ignore[no-any-return]
        with self._lock:
            self.insert(list(conversation.documents))
            try:
                bare = Conversation(conversation.system, conversation.turns, (), conversation.tools)
                return self.inner.send(bare)  # type: ignore[no-any-return]
            finally:
                if self.remove:
                    self.remove(list(conversation.documents))


def responder_hooks(base_url: str) -> tuple[DocumentHook, DocumentHook]:
    """insert/remove hooks for the reference responder's `/_control/documents` route."""
    url = base_url.rstrip("/").removesuffix("/v1") + "/_control/documents"

    def insert(docs: list[Document]) -> None:
        payload = [{"doc_id": d.doc_id, "text": d.text, "source": d.source} for d in docs]
        httpx.post(url, json={"documents": payload}, timeout=10).raise_for_status()

    def remove(docs: list[Document]) -> None:
        httpx.delete(url, timeout=10).raise_for_status()

    return insert, remove


def resolve_target(spec: str, *, model: str = "default", key: str | None = None,
                   gateway_url: str | None = None, rag_hook: str | None = None,
                   max_tokens: int | None = None) -> Any:
    """A target from a CLI spec: an http(s) URL, 'gateway', or 'python:module:function'.

    `rag_hook` ('responder' or 'python:module:function' returning (insert, remove)) wraps
    the target in a RAGTarget so attack documents go into the app's index.
    """
    if spec == "gateway":
        if not gateway_url:
            raise ValidationFailed("target", "gateway needs --gateway-url (or gateway settings)")
        target: Any = OpenAITarget(gateway_url, model, key, name=f"gateway {gateway_url}",
                                   max_tokens=max_tokens, gateway=True)
    elif spec.startswith("python:"):
        target = CallableTarget(_import(spec, "target"))
    else:
        target = OpenAITarget(spec, model, key, max_tokens=max_tokens)
    if rag_hook == "responder" and isinstance(target, OpenAITarget):
        return RAGTarget(target, *responder_hooks(target.url.removesuffix("/chat/completions")))
    if rag_hook:
        insert, remove = _import(rag_hook, "rag_hook")()
        return RAGTarget(target, insert, remove)
    return target


def _import(spec: str, field: str) -> Callable[..., Any]:
    import importlib

    parts = spec.removeprefix("python:").split(":")
    if len(parts) != 2 or not all(parts):
        raise ValidationFailed(field, f"{spec!r} is not python:module:function")
    try:
        fn = getattr(importlib.import_module(parts[0]), parts[1])
    except (ImportError, AttributeError) as exc:
        raise ValidationFailed(field, f"cannot import {spec!r}: {exc}") from exc
    if not callable(fn):
        raise ValidationFailed(field, f"{spec!r} is not callable")
    return fn  # type: ignore[no-any-return]
