"""GenAI span mapping without a server: older conventions, OpenInference, guardrail joins."""

from __future__ import annotations

import json

from firebreak.events import parse_event
from firebreak.ingest.otlp import spans_to_events
from firebreak.ingest.otlp_decode import RawSpan, SpanEvent


def _span(attrs: dict[str, object], events: list[SpanEvent] | None = None, **kw: object) -> RawSpan:
    base: dict[str, object] = dict(trace_id="ab" * 16, span_id="cd" * 8, parent_span_id="",
                                   name="chat", kind=3, start_ns=1_700_000_000_000_000_000,
                                   end_ns=1_700_000_000_250_000_000, attributes=attrs,
                                   events=events or [], resource={"service.name": "svc"})
    base.update(kw)
    return RawSpan(**base)  # type: ignore[arg-type]


def test_pre_1_37_message_events_and_gen_ai_system() -> None:
    span = _span({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-3.5-turbo",
                  "gen_ai.usage.prompt_tokens": 9, "gen_ai.usage.completion_tokens": 4},
                 [SpanEvent("gen_ai.system.message", 0, {"content": "Be nice."}),
                  SpanEvent("gen_ai.user.message", 0, {"content": "Hi"}),
                  SpanEvent("gen_ai.choice", 0, {"message": json.dumps({"content": "Hello!"})})])
    (raw,), _ = spans_to_events([span])
    call = parse_event(raw)
    assert [(m.role, m.content) for m in call.messages] == [("system", "Be nice."), ("user", "Hi")]
    assert call.response == "Hello!" and (call.input_tokens, call.output_tokens) == (9, 4)
    assert call.latency_ms == 250.0 and call.deployment == "svc"


def test_openinference_attributes() -> None:
    span = _span({"openinference.span.kind": "LLM", "llm.model_name": "claude-3-haiku",
                  "llm.input_messages.0.message.role": "user",
                  "llm.input_messages.0.message.content": "Summarise this",
                  "llm.output_messages.0.message.role": "assistant",
                  "llm.output_messages.0.message.content": "Done.",
                  "llm.token_count.prompt": 30, "llm.token_count.completion": 2,
                  "session.id": "s1"})
    (raw,), _ = spans_to_events([span])
    call = parse_event(raw)
    assert call.model == "claude-3-haiku" and call.response == "Done."
    assert call.messages[0].content == "Summarise this" and call.session_id == "s1"


def test_tool_calls_and_guardrail_child_without_findings() -> None:
    output = [{"role": "assistant", "parts": [
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}}]}]
    parent = _span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                    "gen_ai.output.messages": json.dumps(output)})
    guard = _span({"gen_ai.operation.name": "apply_guardrail",
                   "gen_ai.security.decision.type": "modify",
                   "gen_ai.security.target.type": "llm_output"},
                  span_id="ef" * 8, parent_span_id="cd" * 8, scope="my-guard")
    tool = _span({"gen_ai.operation.name": "execute_tool"}, span_id="01" * 8)
    events, origins = spans_to_events([parent, guard, tool])
    assert len(events) == 1 and origins == [parent]
    call = parse_event(events[0])
    (tool_call,) = call.tool_calls
    assert tool_call.name == "get_weather" and tool_call.arguments == {"city": "Paris"}
    (verdict,) = call.verdicts
    assert (verdict.scanner, verdict.label, verdict.action, verdict.target) == (
        "my-guard", "modify", "redact", "output")
