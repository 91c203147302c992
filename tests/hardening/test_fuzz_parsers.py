"""Property and fuzz checks of the parsers that take outside input.

Each parser must either accept an input or refuse it with the error type its callers turn
into a clear answer (a field and a reason): never another exception, never a hang.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from firebreak.config import RedactionSettings
from firebreak.events import EVENT_KINDS, LLMCall, parse_event
from firebreak.ingest.body import BodyRejected, parse_items
from firebreak.ingest.otlp_decode import decode
from firebreak.ingest.redact import Redactor

BOUNDED = settings.get_profile("hardening")
SMALL = settings(BOUNDED, max_examples=25)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=12), kids, max_size=4)),
    max_leaves=6)
KEYS = ["event_id", "ts", "model", "messages", "response", "latency_ms",
        "input_tokens", "status", "features", "output", "score", "retrieved", "tool_calls",
        "user_id", "name", "value", "prediction_id"]
near_event = st.fixed_dictionaries(
    {"kind": st.sampled_from([*EVENT_KINDS, "nope", ""]), "deployment": st.text(max_size=30)},
    optional={k: json_value for k in KEYS})


@SMALL
@given(near_event)
def test_event_parser_accepts_or_names_the_field(data: dict[str, Any]) -> None:
    try:
        event = parse_event(data)
    except ValidationError as exc:
        for err in exc.errors():
            assert err["msg"] and isinstance(err["loc"], tuple)
        return
    assert event.kind == data["kind"]
    assert parse_event(json.loads(event.model_dump_json())).model_dump() == event.model_dump()


@BOUNDED
@given(st.binary(max_size=2000), st.booleans())
def test_body_parser_random_bytes(body: bytes, ndjson: bool) -> None:
    try:
        items = parse_items(body, ndjson=ndjson, max_items=50)
    except BodyRejected as exc:
        assert exc.field and exc.reason and 400 <= exc.status_code < 500
        return
    assert isinstance(items, list) and len(items) <= 50


OTLP_TYPES = ["application/x-protobuf", "application/json", "text/plain", None]


@BOUNDED
@given(st.binary(max_size=3000), st.sampled_from(OTLP_TYPES))
def test_otlp_decoder_random_bytes(body: bytes, content_type: str | None) -> None:
    try:
        spans = decode(body, content_type)
    except BodyRejected as exc:
        assert exc.field and exc.reason and 400 <= exc.status_code < 500
        return
    assert isinstance(spans, list)


otlp_attr = st.fixed_dictionaries({"key": st.text(max_size=20), "value": st.dictionaries(
    st.sampled_from(["stringValue", "intValue", "doubleValue", "boolValue", "arrayValue",
                     "kvlistValue", "bytesValue"]), json_value, max_size=2)})
otlp_span = st.fixed_dictionaries({}, optional={
    "traceId": st.one_of(st.text(max_size=40), json_value), "spanId": st.text(max_size=20),
    "name": json_value, "kind": json_value, "startTimeUnixNano": json_value,
    "endTimeUnixNano": json_value, "attributes": st.one_of(st.lists(otlp_attr, max_size=4),
                                                           json_value),
    "events": st.lists(st.fixed_dictionaries({"name": st.text(max_size=10)},
                                             optional={"attributes": st.lists(otlp_attr,
                                                                              max_size=2)}),
                       max_size=1),
    "status": json_value})
otlp_doc = st.fixed_dictionaries({"resourceSpans": st.lists(st.fixed_dictionaries(
    {"scopeSpans": st.lists(st.fixed_dictionaries({"spans": st.lists(otlp_span, max_size=3)}),
                            max_size=2)},
    optional={"resource": st.fixed_dictionaries({"attributes": st.lists(otlp_attr, max_size=3)})}
), max_size=2)})


@SMALL
@given(otlp_doc)
def test_otlp_json_decoder_on_structured_garbage(doc: dict[str, Any]) -> None:
    try:
        spans = decode(json.dumps(doc).encode(), "application/json")
    except BodyRejected as exc:
        assert exc.field and exc.reason
        return
    assert all(isinstance(s.attributes, dict) for s in spans)


@pytest.mark.parametrize("flip", range(0, 400, 7))
def test_otlp_protobuf_decoder_on_corrupted_real_export(flip: int) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = "chat gpt-4o", b"\x01" * 16, b"\x02" * 8
    attr = span.attributes.add()
    attr.key, attr.value.string_value = "gen_ai.request.model", "gpt-4o"
    raw = bytearray(req.SerializeToString())
    raw[flip % len(raw)] ^= 0xFF
    try:
        decode(bytes(raw), "application/x-protobuf")
    except BodyRejected as exc:
        assert exc.field and exc.reason


SECRETS = ["sk-proj-" + "A1b2C3d4" * 5, "AKIA" + "ABCDEFGHIJKLMNOP", "ghp_" + "x" * 36,
           "fbk_" + "Zz9_" * 8, "hf_" + "q" * 34, "jane.doe@example.com", "4111 1111 1111 1111"]
filler = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@BOUNDED
@given(st.lists(st.tuples(filler, st.sampled_from(SECRETS)), min_size=1, max_size=4), filler)
def test_redaction_never_leaks_a_planted_secret_and_is_idempotent(
        parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{pre} {secret} " for pre, secret in parts) + tail
    redactor = Redactor(RedactionSettings())
    masked = redactor.mask(text)
    for _, secret in parts:
        assert secret not in masked
    assert redactor.mask(masked) == masked
    call = LLMCall(deployment="d", model="m", response=text, user_id="alice@example.com",
                   messages=[{"role": "user", "content": text}])
    once = redactor.redact(call).model_dump_json()
    twice = redactor.redact(LLMCall.model_validate_json(once)).model_dump_json()
    assert once == twice
    assert all(secret not in once for _, secret in parts) and "alice@example.com" not in once
