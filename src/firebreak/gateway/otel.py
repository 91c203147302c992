"""OTLP/HTTP JSON export of proxied calls as OpenTelemetry GenAI spans.

Each call is a CLIENT span `{operation} {model}` with an INTERNAL `apply_guardrail Firebreak`
child span carrying one `gen_ai.security.finding` event per flagged verdict (shapes in the
GenAI semantic conventions; ids in hex, int64 as strings, as OTLP JSON wants).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from firebreak import __version__
from firebreak.events import LLMCall, Verdict

_CATEGORY = {"injection": "prompt_injection", "jailbreak": "prompt_injection",
             "indirect_injection": "prompt_injection", "quarantined_source": "prompt_injection",
             "canary_leak": "system_prompt_leakage", "pii": "sensitive_information_disclosure",
             "secret": "sensitive_information_disclosure"}
_TARGET = {"input": "llm_input", "output": "llm_output", "chunk": "knowledge_result",
           "tool": "tool_call", "text": "message"}
_DECISION = {"allow": "allow", "monitor": "warn", "block": "deny", "redact": "modify"}


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": str(v)}
                                                                for v in value]}}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _severity(score: float) -> str:
    return "critical" if score >= 0.95 else "high" if score >= 0.8 else "medium" \
        if score >= 0.5 else "low"


def _finding(v: Verdict, ts: int) -> dict[str, Any]:
    return {"timeUnixNano": str(ts), "name": "gen_ai.security.finding", "attributes": [
        _attr("gen_ai.security.risk.category", _CATEGORY.get(v.label, v.label)),
        _attr("gen_ai.security.risk.severity", _severity(v.score)),
        _attr("gen_ai.security.risk.score", float(v.score)),
        _attr("gen_ai.security.target.type", _TARGET.get(v.target, "message")),
        _attr("firebreak.scanner", v.scanner)]}


def spans_for(call: LLMCall, operation: str, start_ns: int, end_ns: int,
              guard_ns: int) -> list[dict[str, Any]]:
    """The client span and its guardrail child for one proxied call."""
    trace_id, span_id, child_id = secrets.token_hex(16), secrets.token_hex(8), secrets.token_hex(8)
    attrs = [_attr("gen_ai.operation.name", operation), _attr("gen_ai.provider.name", "openai"),
             _attr("gen_ai.request.model", call.model or ""),
             _attr("firebreak.deployment", call.deployment)]
    if call.input_tokens is not None:
        attrs.append(_attr("gen_ai.usage.input_tokens", call.input_tokens))
    if call.output_tokens is not None:
        attrs.append(_attr("gen_ai.usage.output_tokens", call.output_tokens))
    if call.finish_reason:
        attrs.append(_attr("gen_ai.response.finish_reasons", [call.finish_reason]))
    flagged = [v for v in call.verdicts if v.flagged]
    worst = max((v.action for v in flagged), key=list(_DECISION).index, default="allow")
    client = {"traceId": trace_id, "spanId": span_id, "name": f"{operation} {call.model or ''}",
              "kind": 3, "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
              "attributes": attrs, "status": {"code": 2 if call.status == "error" else 1}}
    guard = {"traceId": trace_id, "spanId": child_id, "parentSpanId": span_id,
             "name": "apply_guardrail Firebreak", "kind": 1, "startTimeUnixNano": str(start_ns),
             "endTimeUnixNano": str(start_ns + guard_ns), "attributes": [
                 _attr("gen_ai.operation.name", "apply_guardrail"),
                 _attr("gen_ai.security.decision.type", _DECISION[worst]),
                 _attr("gen_ai.guardian.name", "Firebreak"),
                 _attr("gen_ai.security.policy.id", f"guard-policy:{call.deployment}")],
             "events": [_finding(v, start_ns + guard_ns) for v in flagged]}
    return [client, guard]


def encode(batch: list[list[dict[str, Any]]]) -> bytes:
    """An OTLP/HTTP JSON ExportTraceServiceRequest for a batch of span pairs."""
    spans = [s for pair in batch for s in pair]
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", "firebreak-gateway")]},
        "scopeSpans": [{"scope": {"name": "firebreak.gateway", "version": __version__},
                        "spans": spans}]}]})
