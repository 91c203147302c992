"""Guard-policy enforcement for one request: access (kill switch, blocks, rate limits),
then scanning of input, tool outputs and retrieved chunks, then of the answer.

RAG chunks travel in an extra top-level `firebreak` field of the chat request:
`{"firebreak": {"retrieved": [{"doc_id", "source", "text", "score"}], "user": ..,
"session_id": ..}}`. The gateway removes that field, drops chunks from quarantined sources
(and, in block or strict mode, chunks carrying instructions), and gives the rest to the
model as one system message placed just before the last user message.

Every user turn of the conversation is scanned (the last `MAX_TURNS`), and so is the
concatenation of those turns, because attacks are spread over turns ("multi-turn
escalation"). Verdicts of earlier turns, tool outputs and chunks come from a bounded
`VerdictCache` when the same text was scanned before; the event keeps every verdict of the
last turn and the flagged ones of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from firebreak.events import RetrievedChunk, Verdict
from firebreak.gateway.ratelimit import RateLimiter
from firebreak.gateway.verdict_cache import VerdictCache
from firebreak.scan.base import ScanContext
from firebreak.scan.normalise import squash
from firebreak.scan.pii import redact
from firebreak.scan.registry import scanners_for
from firebreak.store.policy import Block, GuardPolicy


@dataclass
class Caller:
    """Who is calling: the keys that block lists and rate limits look at."""

    api_key_id: str | None = None
    user: str | None = None
    client_ip: str | None = None
    session_id: str | None = None


@dataclass
class Outcome:
    """What the guard decided for the request."""

    status: str = "ok"  # ok | blocked | killed | denied | throttled
    reason: str = ""
    retry_after: float = 0.0
    verdicts: list[Verdict] = field(default_factory=list)
    retrieved: list[RetrievedChunk] = field(default_factory=list)


def _active(blocks: list[Block], value: str | None, now: datetime) -> Block | None:
    if value is None:
        return None
    for b in blocks:
        if b.value == value and (b.expires_at is None or b.expires_at > now):
            return b
    return None


def check_access(policy: GuardPolicy, caller: Caller, limiter: RateLimiter) -> Outcome:
    """Kill switch, block lists, then rate limits; the first that applies decides."""
    if policy.kill_switch:
        return Outcome("killed", "kill switch is on")
    now = datetime.now(UTC)
    for blocks, value, what in ((policy.blocked_api_keys, caller.api_key_id, "API key"),
                                (policy.blocked_users, caller.user, "user"),
                                (policy.blocked_ips, caller.client_ip, "client address")):
        hit = _active(blocks, value, now)
        if hit is not None:
            why = f": {hit.reason}" if hit.reason else ""
            return Outcome("denied", f"{what} is blocked{why}")
    keys = {"api_key": caller.api_key_id, "user": caller.user, "client_ip": caller.client_ip}
    wait = limiter.check(policy.deployment, policy.rate_limits, keys)
    if wait > 0:
        return Outcome("throttled", "rate limit exceeded", retry_after=wait)
    return Outcome()


def context_for(policy: GuardPolicy, target: str, canary: str | None = None,
                thresholds: dict[str, float] | None = None, **extra: Any) -> ScanContext:
    """The scan context a policy implies: strict lowers thresholds, block/strict block."""
    mode = "block" if policy.mode in ("block", "strict") else "monitor"
    return ScanContext(target=target, deployment=policy.deployment,  # type: ignore[arg-type]
                       canary=policy.canary or canary,
                       thresholds={**(thresholds or {}), **policy.thresholds},
                       strict=policy.mode == "strict", mode=mode, **extra)  # type: ignore[arg-type]


def _text(content: Any) -> str:
    """The text of an OpenAI message content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content
                         if isinstance(p, dict) and p.get("type") == "text")
    return ""


MAX_TURNS = 8  # user turns scanned one by one and joined (older ones are not re-read)


def _run(text: str, ctx: ScanContext, names: list[str] | None,
         cache: VerdictCache | None = None) -> list[Verdict]:
    chosen = scanners_for(ctx.target, names)
    if cache is None:
        return [s.scan(text, ctx) for s in chosen]
    return [cache.get_or_scan(s.name, text, ctx, s.scan) for s in chosen]


def _scan_turns(messages: list[Any], users: list[int], policy: GuardPolicy,
                outcome: Outcome, names: list[str] | None, thresholds: dict[str, float],
                cache: VerdictCache | None) -> None:
    """Scan each recent user turn and their concatenation; keep what matters."""
    ctx = context_for(policy, "input", thresholds=thresholds)
    recent = [_text(messages[i].get("content")) for i in users[-MAX_TURNS:]]
    outcome.verdicts += _run(recent[-1], ctx, names)  # the new turn: always recorded
    earlier = [(f"user turn {len(users) - len(recent) + k + 1}", t)
               for k, t in enumerate(recent[:-1])]
    if len(recent) > 1:
        earlier.append((f"last {len(recent)} user turns joined",
                        squash(" ".join(t.strip() for t in recent))))
    for where, text in earlier:
        for v in _run(text, ctx, names, cache):
            if v.flagged:
                outcome.verdicts.append(v.model_copy(update={"reason": f"{where}: {v.reason}"}))


def scan_chat(body: dict[str, Any], policy: GuardPolicy, outcome: Outcome,
              names: list[str] | None, thresholds: dict[str, float],
              cache: VerdictCache | None = None) -> None:
    """Scan a chat request in place: input, tool outputs, retrieved chunks (rewritten)."""
    messages = body.get("messages") or []
    extra = body.pop("firebreak", None) or {}
    users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
    if users:
        _scan_turns(messages, users, policy, outcome, names, thresholds, cache)
    for m in messages:
        if isinstance(m, dict) and m.get("role") == "tool":
            ctx = context_for(policy, "tool", thresholds=thresholds,
                              doc_id=m.get("tool_call_id") or m.get("name"))
            found = _run(_text(m.get("content")), ctx, names, cache)
            outcome.verdicts += found
            if any(v.flagged and v.action == "block" for v in found):
                m["content"] = "[removed by Firebreak: instructions found in tool output]"
    kept = _filter_chunks(extra.get("retrieved") or [], policy, outcome, names, thresholds,
                          cache)
    if kept:
        docs = "\n\n".join(f"[{c.doc_id}] {c.text}" for c in kept)
        at = users[-1] if users else len(messages)
        messages.insert(at, {"role": "system", "content": f"Retrieved documents:\n{docs}"})
    if any(v.flagged and v.action == "block" and v.target == "input" for v in outcome.verdicts):
        outcome.status = "blocked"
        outcome.reason = next(v.reason for v in outcome.verdicts if v.flagged)


def _filter_chunks(raw: list[Any], policy: GuardPolicy, outcome: Outcome,
                   names: list[str] | None, thresholds: dict[str, float],
                   cache: VerdictCache | None = None) -> list[RetrievedChunk]:
    now = datetime.now(UTC)
    kept: list[RetrievedChunk] = []
    for item in raw:
        chunk = RetrievedChunk.model_validate(item)
        outcome.retrieved.append(chunk)
        ctx = context_for(policy, "chunk", thresholds=thresholds, doc_id=chunk.doc_id,
                          source=chunk.source)
        if _active(policy.quarantined_sources, chunk.source, now):
            outcome.verdicts.append(Verdict(
                scanner="quarantine", score=1.0, label="quarantined_source", target="chunk",
                doc_id=chunk.doc_id, source=chunk.source, action="block",
                reason=f"source {chunk.source!r} is quarantined; chunk dropped"))
            continue
        found = _run(chunk.text, ctx, names, cache)
        outcome.verdicts += found
        if not any(v.flagged and v.action == "block" for v in found):
            kept.append(chunk)
    return kept


def scan_answer(text: str, policy: GuardPolicy, outcome: Outcome, names: list[str] | None,
                thresholds: dict[str, float], canary: str | None) -> str:
    """Scan the answer; return it redacted (PII/secrets) or replaced (canary leak) per mode."""
    ctx = context_for(policy, "output", canary=canary, thresholds=thresholds)
    found = _run(text, ctx, names)
    for i, v in enumerate(found):
        if v.flagged and v.action == "block" and v.scanner in ("pii", "secrets"):
            found[i] = v.model_copy(update={"action": "redact"})
    outcome.verdicts += found
    if any(v.flagged and v.action == "block" for v in found):
        return policy.safe_message
    redacting = [v for v in found if v.flagged and v.action == "redact"]
    return redact(text, redacting) if redacting else text
