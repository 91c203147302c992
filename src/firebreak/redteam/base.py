"""Contracts of the red team: probes, conversations, target responses, attempts.

An *attack* turns payloads into probes; a *converter* rewrites a probe's payload
(obfuscation) or its turns (escalation); a *target* answers a conversation; *scorers*
judge the answer; the *runner* records one attempt per probe and converter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]
Outcome = Literal["success", "resisted", "blocked", "error", "passed", "failed"]


@dataclass(frozen=True)
class Turn:
    """One chat message sent to a target."""

    role: Role
    content: str
    tool_call_id: str | None = None

    def as_openai(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_call_id:
            msg["tool_call_id"] = self.tool_call_id
        return msg


@dataclass(frozen=True)
class Document:
    """An attack document for indirect injection: inserted into a RAG index or a tool result."""

    doc_id: str
    text: str
    source: str = "redteam"


@dataclass(frozen=True)
class Probe:
    """One attack instance, ready to send.

    `payload` is the attacker's text after conversion; `goal` is the string whose presence
    in the answer proves the attack worked (empty when another scorer decides).
    `turns` are the user-side messages; `documents` go to the target's retrieval hook;
    `tools` are offered to the target and `forbidden_tools` must never be called.
    """

    id: str
    attack: str
    payload: str
    goal: str = ""
    turns: tuple[Turn, ...] = ()
    documents: tuple[Document, ...] = ()
    tools: tuple[str, ...] = ()
    forbidden_tools: tuple[str, ...] = ()
    scorers: tuple[str, ...] = ("goal",)
    converter: str = "none"
    benign: bool = False
    owasp: tuple[str, ...] = ()
    atlas: tuple[str, ...] = ()
    source_incident: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Probe:
        """A copy with some fields changed (probes are immutable)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Conversation:
    """What a target receives: system prompt (with the run's canary), turns, docs, tools."""

    system: str
    turns: tuple[Turn, ...]
    documents: tuple[Document, ...] = ()
    tools: tuple[str, ...] = ()

    def messages(self) -> list[dict[str, Any]]:
        """OpenAI-style message list (documents are left to the target)."""
        out: list[dict[str, Any]] = (
            [{"role": "system", "content": self.system}] if self.system else [])
        for turn in self.turns:
            if turn.role == "tool":
                # A tool result must follow the assistant call that asked for it.
                call_id = turn.tool_call_id or "call_fetch_document"
                out.append({"role": "assistant", "content": None, "tool_calls": [{
                    "id": call_id, "type": "function",
                    "function": {"name": call_id.removeprefix("call_"), "arguments": "{}"}}]})
            out.append(turn.as_openai())
        return out


@dataclass(frozen=True)
class ToolCall:
    """A tool call the target asked for."""

    name: str
    arguments: str = ""


@dataclass(frozen=True)
class TargetResponse:
    """A target's answer: text, requested tool calls, status and cost figures."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    status: int = 200
    error: str | None = None
    latency_ms: float = 0.0
    completion_tokens: int | None = None
    guard_action: str | None = None  # the gateway's x-firebreak-action header, if any

    @property
    def blocked(self) -> bool:
        """True when a guard in front of the model refused the request."""
        if self.guard_action in ("blocked", "killed", "redacted"):
            return True
        return self.status in (400, 403, 422, 429, 451) and self.error is not None


@dataclass(frozen=True)
class Score:
    """One scorer's judgement on one answer: did the attack's effect show, and why."""

    scorer: str
    hit: bool
    reason: str
    available: bool = True


@runtime_checkable
class Target(Protocol):
    """Anything that answers a conversation."""

    name: str

    def send(self, conversation: Conversation) -> TargetResponse: ...


@runtime_checkable
class Converter(Protocol):
    """Rewrites a probe: obfuscates its payload or spreads it over turns."""

    name: str

    def convert(self, probe: Probe) -> Probe: ...


@runtime_checkable
class Attack(Protocol):
    """Builds probes for one attack technique, with its taxonomy ids."""

    name: str
    owasp: tuple[str, ...]
    atlas: tuple[str, ...]

    def probes(self) -> list[Probe]: ...

    def from_payload(self, probe_id: str, payload: str, goal: str) -> Probe: ...
