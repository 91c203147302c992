"""OTLP/HTTP trace export bodies (protobuf or JSON) decoded into plain `RawSpan`s.

Both encodings that real exporters send end up in the same shape, so the GenAI mapping
is written once. OTLP JSON differs from the protobuf JSON mapping: trace and span ids are
hex (not base64), int64 values are strings, enums are integers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

from firebreak.ingest.body import BodyRejected


@dataclass
class SpanEvent:
    """An event recorded on a span (e.g. gen_ai.evaluation.result)."""

    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass
class RawSpan:
    """One span, encoding-free: hex ids, nanosecond times, attributes as Python values."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[SpanEvent] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""


def decode(body: bytes, content_type: str | None) -> list[RawSpan]:
    """Spans from an ExportTraceServiceRequest in protobuf or JSON encoding."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("application/json", "text/json"):
        return decode_json(body)
    if media in ("application/x-protobuf", "application/protobuf", "application/octet-stream"):
        return decode_protobuf(body)
    raise BodyRejected(415, "content-type", f"{media or 'none'!r} is not an OTLP encoding "
                       "(use application/x-protobuf or application/json)")


# -- protobuf ---------------------------------------------------------------------------

def _pb_value(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, which)


def _pb_attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in kvs}


def decode_protobuf(body: bytes) -> list[RawSpan]:
    """Spans from a protobuf-encoded ExportTraceServiceRequest."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BodyRejected(400, "body", f"not a protobuf ExportTraceServiceRequest: {exc}") from exc
    spans: list[RawSpan] = []
    for rs in request.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(RawSpan(
                    s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(), s.name, s.kind,
                    s.start_time_unix_nano, s.end_time_unix_nano, _pb_attrs(s.attributes),
                    [SpanEvent(e.name, e.time_unix_nano, _pb_attrs(e.attributes))
                     for e in s.events],
                    s.status.code, s.status.message, resource, ss.scope.name))
    return spans


# -- JSON -------------------------------------------------------------------------------

def _json_value(v: Any) -> Any:
    if not isinstance(v, dict) or not v:
        return None
    key, val = next(iter(v.items()))
    if key == "intValue":
        return int(val)
    if key == "doubleValue":
        return float(val)
    if key == "arrayValue":
        return [_json_value(x) for x in (val or {}).get("values", [])]
    if key == "kvlistValue":
        return _json_attrs((val or {}).get("values", []))
    if key == "bytesValue":
        return base64.b64decode(val).hex()
    return val


def _json_attrs(kvs: Any) -> dict[str, Any]:
    return {kv["key"]: _json_value(kv.get("value")) for kv in kvs or () if "key" in kv}


def _hex_id(value: Any) -> str:
    # OTLP JSON says hex; some senders use the protobuf JSON mapping (base64): accept both.
    text = str(value or "")
    if len(text) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except ValueError:
        return text


def _json_span(s: dict[str, Any], resource: dict[str, Any], scope: str) -> RawSpan:
    status = s.get("status") or {}
    return RawSpan(
        _hex_id(s.get("traceId")), _hex_id(s.get("spanId")), _hex_id(s.get("parentSpanId")),
        str(s.get("name", "")), int(s.get("kind", 0)), int(s.get("startTimeUnixNano", 0)),
        int(s.get("endTimeUnixNano", 0)), _json_attrs(s.get("attributes")),
        [SpanEvent(str(e.get("name", "")), int(e.get("timeUnixNano", 0)),
                   _json_attrs(e.get("attributes"))) for e in s.get("events") or ()],
        int(status.get("code", 0)), str(status.get("message", "")), resource, scope)


def decode_json(body: bytes) -> list[RawSpan]:
    """Spans from an OTLP/JSON ExportTraceServiceRequest."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyRejected(400, "body", f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BodyRejected(400, "body", "expected an object with resourceSpans")
    spans: list[RawSpan] = []
    try:
        for rs in data.get("resourceSpans") or ():
            resource = _json_attrs((rs.get("resource") or {}).get("attributes"))
            for ss in rs.get("scopeSpans") or ():
                scope = str((ss.get("scope") or {}).get("name", ""))
                spans.extend(_json_span(s, resource, scope) for s in ss.get("spans") or ())
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise BodyRejected(400, "resourceSpans", f"malformed OTLP JSON: {exc}") from exc
    return spans
