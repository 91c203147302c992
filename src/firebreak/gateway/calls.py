"""One proxied call's record: who called, what the guard decided, what came back.
`to_event()` turns it into the llm.call event sent to ingest."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from firebreak.events import LLMCall, Message, ToolCall
from firebreak.gateway.guard import Caller, Outcome
from firebreak.gateway.pricing import cost_usd

_ROLES = {"system", "user", "assistant", "tool", "developer"}


def key_id(api_key: str | None) -> str | None:
    """A stable, non-reversible id for an API key (the key itself is never recorded)."""
    if not api_key:
        return None
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass
class Call:
    """Everything the gateway learns about one request while handling it."""

    operation: str  # chat | text_completion | embeddings
    deployment: str
    body: dict[str, Any]
    caller: Caller
    outcome: Outcome = field(default_factory=Outcome)
    started: float = field(default_factory=time.perf_counter)
    started_ns: int = field(default_factory=time.time_ns)
    guard_seconds: float = 0.0
    model: str | None = None  # routed model, then the model named in the answer
    answer: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # OpenAI shape
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    status: str = "ok"
    error: str | None = None
    upstream: str | None = None

    requested_model: str | None = None  # what the caller asked for, before any route

    def __post_init__(self) -> None:
        model = self.body.get("model")
        if self.requested_model is None and isinstance(model, str):
            self.requested_model = model

    def to_event(self, prices: dict[str, tuple[float, float]] | None = None) -> LLMCall:
        """The llm.call event for this call (verdicts, latency, tokens, cost)."""
        usage = self.usage or {}
        tin = usage.get("prompt_tokens")
        tout = usage.get("completion_tokens")
        if tout is None and self.answer:
            tout = max(1, len(self.answer) // 4)  # streamed without usage: estimate
        status = "blocked" if self.outcome.status != "ok" else self.status
        # the model that answered, else the routed one, else the one the caller asked for
        version = self.model or self.requested_model
        return LLMCall(
            deployment=self.deployment, model=self.model or self.body.get("model"),
            model_version=str(version)[:200] if version else None,
            tool_calls=_tool_calls(self.tool_calls),
            messages=_messages(self.body), response=self.answer,
            retrieved=self.outcome.retrieved, latency_ms=(time.perf_counter() - self.started) * 1e3,
            input_tokens=tin, output_tokens=tout,
            cost_usd=cost_usd(self.model or self.body.get("model"), tin, tout, prices),
            user_id=self.caller.user, session_id=self.caller.session_id,
            api_key_id=self.caller.api_key_id, client_ip=self.caller.client_ip,
            status=status, error=self.error or (self.outcome.reason or None),  # type: ignore[arg-type]
            finish_reason=self.finish_reason, verdicts=self.outcome.verdicts,
            attributes={"operation": self.operation, "upstream": self.upstream,
                        "guard": self.outcome.status,
                        "guard_ms": round(self.guard_seconds * 1e3, 3)})


def _messages(body: dict[str, Any]) -> list[Message]:
    from firebreak.gateway.guard import _text

    out = []
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") in _ROLES:
            out.append(Message(role=m["role"], content=_text(m.get("content"))[:20_000]))
    if not out and isinstance(body.get("prompt"), str):
        out.append(Message(role="user", content=body["prompt"][:20_000]))
    return out


def _tool_calls(raw: list[dict[str, Any]]) -> list[ToolCall]:
    """OpenAI tool calls as event ToolCalls: name plus arguments parsed from their JSON."""
    out = []
    for item in raw:
        inner = item.get("function")
        fn: dict[str, Any] = inner if isinstance(inner, dict) else item
        name = str(fn.get("name") or "")[:200]
        if not name:
            continue
        args: Any = fn.get("arguments")
        if isinstance(args, str):
            try:
                parsed = json.loads(args) if args.strip() else {}
                args = parsed if isinstance(parsed, dict) else args
            except ValueError:  # truncated or not JSON: keep the raw string
                pass
        out.append(ToolCall(name=name, arguments=args if isinstance(args, dict | str) else {}))
    return out
