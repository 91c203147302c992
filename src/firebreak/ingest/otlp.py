"""OpenTelemetry GenAI spans mapped to llm.call events.

Follows the GenAI semantic conventions (gen_ai.* attributes; content on the span or on the
`gen_ai.client.inference.operation.details` event; the older per-message events), with the
common OpenInference names as a fallback. Guardrail spans (`apply_guardrail`) become
verdicts on the LLM call they protect; evaluation events become `attributes`.
Spans that are neither are ignored, not refused.
"""

from __future__ import annotations

from typing import Any

import orjson

from firebreak.ingest.otlp_decode import RawSpan, SpanEvent

LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion"}
GUARDRAIL = "apply_guardrail"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_ROLES = {"system", "user", "assistant", "tool", "developer"}
_TARGETS = {"llm_input": "input", "llm_output": "output", "tool_call": "tool",
            "tool_definition": "tool", "knowledge_result": "chunk", "memory_retrieve": "chunk"}
_ACTIONS = {"deny": "block", "modify": "redact", "warn": "monitor", "audit": "monitor",
            "allow": "allow"}
_SEVERITY_SCORE = {"none": 0.0, "low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}


def _first(attrs: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def _loads(value: Any) -> Any:
    """Structured content may arrive as a JSON string (most SDKs) or as an OTLP array."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def is_llm_span(span: RawSpan) -> bool:
    op = span.attributes.get("gen_ai.operation.name")
    if op is not None:
        return op in LLM_OPERATIONS
    a = span.attributes
    return ("gen_ai.request.model" in a or "gen_ai.system" in a
            or a.get("openinference.span.kind") == "LLM")


def _parts_text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    texts = []
    for part in parts or ():
        if isinstance(part, dict) and part.get("type", "text") in ("text", "tool_call_response"):
            content = part.get("content", part.get("response", part.get("text")))
            if content is not None:
                texts.append(content if isinstance(content, str)
                             else orjson.dumps(content).decode())
    return "\n".join(texts)


def _message(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    role = str(raw.get("role", "user"))
    content = raw["content"] if "content" in raw else _parts_text(raw.get("parts"))
    if not isinstance(content, str):
        content = _parts_text(content)
    return {"role": role if role in _ROLES else "user", "content": content,
            **({"name": str(raw["name"])} if raw.get("name") else {})}


def _tool_calls(outputs: list[Any]) -> list[dict[str, Any]]:
    calls = []
    for message in outputs:
        for part in (message.get("parts") or ()) if isinstance(message, dict) else ():
            if isinstance(part, dict) and part.get("type") == "tool_call" and part.get("name"):
                calls.append({"name": str(part["name"]), "arguments": _loads(part.get("arguments"))
                              or {}})
    return calls


def _content(attrs: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(input messages, output messages) from the current conventions, if present."""
    inputs = _loads(attrs.get("gen_ai.input.messages")) or []
    outputs = _loads(attrs.get("gen_ai.output.messages")) or []
    system = _loads(attrs.get("gen_ai.system_instructions"))
    if system:
        inputs = [{"role": "system", "parts": system}, *inputs]
    return _as_list(inputs), _as_list(outputs)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _legacy_content(events: list[SpanEvent]) -> tuple[list[Any], list[Any]]:
    """Messages from the pre-1.37 per-message events and the older prompt/completion events."""
    inputs: list[Any] = []
    outputs: list[Any] = []
    for e in events:
        if e.name.startswith("gen_ai.") and e.name.endswith(".message"):
            role = e.name.removeprefix("gen_ai.").removesuffix(".message")
            inputs.append({"role": e.attributes.get("role", role),
                           "content": _parts_text(_loads(e.attributes.get("content", "")))})
        elif e.name == "gen_ai.choice":
            msg = _loads(e.attributes.get("message")) or {}
            outputs.append({"role": "assistant", "content": _parts_text(
                msg.get("content", "") if isinstance(msg, dict) else msg)})
        elif e.name == "gen_ai.content.prompt":
            prompt = _loads(e.attributes.get("gen_ai.prompt"))
            inputs.extend(prompt if isinstance(prompt, list)
                          else [{"role": "user", "content": prompt}])
        elif e.name == "gen_ai.content.completion":
            done = _loads(e.attributes.get("gen_ai.completion"))
            outputs.extend(done if isinstance(done, list)
                           else [{"role": "assistant", "content": done}])
    return inputs, outputs


def _openinference_content(attrs: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    def collect(prefix: str) -> list[Any]:
        out = []
        for i in range(1000):
            role = attrs.get(f"{prefix}.{i}.message.role")
            if role is None:
                break
            out.append({"role": role, "content": attrs.get(f"{prefix}.{i}.message.content", "")})
        return out

    inputs, outputs = collect("llm.input_messages"), collect("llm.output_messages")
    if not inputs and isinstance(attrs.get("input.value"), str):
        inputs = [{"role": "user", "content": attrs["input.value"]}]
    if not outputs and isinstance(attrs.get("output.value"), str):
        outputs = [{"role": "assistant", "content": attrs["output.value"]}]
    return inputs, outputs


def messages_of(span: RawSpan) -> tuple[list[dict[str, Any]], list[Any]]:
    """(messages, raw output messages) of an LLM span, wherever the exporter put them."""
    inputs, outputs = _content(span.attributes)
    for e in span.events:
        if e.name == DETAILS_EVENT and not (inputs or outputs):
            inputs, outputs = _content(e.attributes)
    if not (inputs or outputs):
        inputs, outputs = _legacy_content(span.events)
    if not (inputs or outputs):
        inputs, outputs = _openinference_content(span.attributes)
    messages = [m for m in map(_message, inputs) if m is not None]
    return messages, outputs


def _findings(span: RawSpan, scanner: str, decision: str, target: str) -> list[dict[str, Any]]:
    verdicts = []
    for e in span.events:
        if e.name != "gen_ai.security.finding":
            continue
        a = e.attributes
        severity = str(a.get("gen_ai.security.risk.severity", "medium"))
        score = a.get("gen_ai.security.risk.score", _SEVERITY_SCORE.get(severity, 0.5))
        verdicts.append({
            "scanner": scanner, "score": min(max(float(score), 0.0), 1.0),
            "label": str(a.get("gen_ai.security.risk.category", "finding")),
            "reason": f"{severity} risk ({decision})", "target": target,
            "action": _ACTIONS.get(decision, "monitor")})
    return verdicts


def guardrail_verdicts(span: RawSpan) -> list[dict[str, Any]]:
    """Verdicts from an apply_guardrail span (or from findings on an LLM span)."""
    a = span.attributes
    scanner = str(a.get("gen_ai.guardian.name") or span.scope or "guardrail")
    decision = str(a.get("gen_ai.security.decision.type", "audit"))
    target = _TARGETS.get(str(a.get("gen_ai.security.target.type", "")), "text")
    verdicts = _findings(span, scanner, decision, target)
    is_guardrail = a.get("gen_ai.operation.name") == GUARDRAIL
    if not verdicts and is_guardrail and decision not in ("allow", "audit"):
        verdicts.append({"scanner": scanner, "score": 1.0, "label": decision, "target": target,
                         "reason": str(a.get("gen_ai.security.policy.id", "")),
                         "action": _ACTIONS.get(decision, "monitor")})
    return verdicts


def _evaluations(span: RawSpan) -> list[dict[str, Any]]:
    out = []
    for e in span.events:
        if e.name == "gen_ai.evaluation.result":
            a = e.attributes
            out.append({k: a[f"gen_ai.evaluation.{k2}"] for k, k2 in (
                ("name", "name"), ("score", "score.value"), ("label", "score.label"),
                ("explanation", "explanation")) if f"gen_ai.evaluation.{k2}" in a})
    return out


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def span_to_event(span: RawSpan) -> dict[str, Any]:
    """One LLM span as a raw llm.call event (validated afterwards like any other event)."""
    a, r = span.attributes, span.resource
    messages, outputs = messages_of(span)
    model = _first(a, "gen_ai.request.model", "gen_ai.response.model", "llm.model_name")
    response_model = a.get("gen_ai.response.model")
    finish = a.get("gen_ai.response.finish_reasons")
    event: dict[str, Any] = {
        "kind": "llm.call",
        "event_id": f"otel-{span.trace_id}-{span.span_id}",  # a re-export is a duplicate
        "ts": span.start_ns / 1e9 if span.start_ns else None,
        "deployment": str(_first(a, "firebreak.deployment") or _first(
            r, "firebreak.deployment", "service.name") or "unknown_service"),
        "model": model,
        "model_version": _first(a, "firebreak.model_version") or (
            response_model if response_model != model else None),
        "messages": messages,
        "response": _parts_text(_first_parts(outputs)) if outputs else None,
        "tool_calls": _tool_calls(outputs),
        "latency_ms": max(span.end_ns - span.start_ns, 0) / 1e6 if span.end_ns else None,
        "input_tokens": _int(_first(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                                    "llm.token_count.prompt")),
        "output_tokens": _int(_first(a, "gen_ai.usage.output_tokens",
                                     "gen_ai.usage.completion_tokens",
                                     "llm.token_count.completion")),
        "cost_usd": _first(a, "gen_ai.usage.cost", "llm.cost.total"),
        "user_id": _first(a, "user.id", "enduser.id"),
        "session_id": _first(a, "session.id", "gen_ai.conversation.id"),
        "request_id": _first(a, "gen_ai.response.id"),
        "api_key_id": _first(a, "firebreak.api_key_id"),
        "finish_reason": str(finish[0]) if isinstance(finish, list) and finish else None,
        "status": "error" if span.status_code == 2 else "ok",
        "error": (span.status_message or str(a.get("error.type", "error"))
                  if span.status_code == 2 else None),
        "verdicts": _findings(span, str(span.scope or "otel"), "audit", "text"),
        "attributes": _attributes(span),
    }
    return {k: v for k, v in event.items() if v is not None}


def _first_parts(outputs: list[Any]) -> Any:
    first = outputs[0]
    if isinstance(first, dict):
        return first["content"] if "content" in first else first.get("parts")
    return first


def _attributes(span: RawSpan) -> dict[str, Any]:
    a = span.attributes
    out: dict[str, Any] = {"otel.trace_id": span.trace_id, "otel.span_id": span.span_id}
    for key in ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system",
                "gen_ai.request.temperature", "gen_ai.request.max_tokens", "server.address"):
        if key in a:
            out[key] = a[key]
    evaluations = _evaluations(span)
    if evaluations:
        out["gen_ai.evaluations"] = evaluations
    return out


def spans_to_events(spans: list[RawSpan]) -> tuple[list[dict[str, Any]], list[RawSpan]]:
    """(raw llm.call events, the span each came from); guardrail verdicts join their parent."""
    events: list[dict[str, Any]] = []
    origins: list[RawSpan] = []
    by_span: dict[tuple[str, str], dict[str, Any]] = {}
    for span in spans:
        if is_llm_span(span):
            event = span_to_event(span)
            events.append(event)
            origins.append(span)
            by_span[(span.trace_id, span.span_id)] = event
    for span in spans:
        if span.attributes.get("gen_ai.operation.name") == GUARDRAIL:
            parent = by_span.get((span.trace_id, span.parent_span_id))
            if parent is not None:
                parent.setdefault("verdicts", []).extend(guardrail_verdicts(span))
    return events, origins
