"""POST /v1/traces: real OpenTelemetry SDK spans (protobuf) and OTLP JSON become llm.call events."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from firebreak.store.events import EventFilter, query_events
from spine.shared import BOOT_TOKEN

AUTH = {"Authorization": f"Bearer {BOOT_TOKEN}"}
LANDSCAPE = Path("/work/shared/reference/landscape.md")
# The landscape.md example (section c3), copied so the test runs on any machine.
EXAMPLE = json.loads((Path(__file__).parent / "data" / "otlp_genai_example.json").read_text())


def _stored(runtime: Any, deployment: str) -> list[dict[str, Any]]:
    events, _ = query_events(runtime.db, EventFilter(deployment=deployment), limit=100)
    return events


def test_example_matches_landscape_md() -> None:
    if not LANDSCAPE.is_file():
        pytest.skip("the shared landscape.md is not on this machine")
    block = re.search(r"### c3\..*?```json\n(.*?)```", LANDSCAPE.read_text(), re.S)
    assert block is not None and json.loads(block.group(1)) == EXAMPLE


def test_otlp_json_landscape_example(watched_api: Any) -> None:
    url, runtime, seen = watched_api
    resp = httpx.post(url + "/v1/traces", json=EXAMPLE, headers=AUTH)
    assert resp.status_code == 200 and resp.json() == {}
    (call,) = _stored(runtime, "rag-api")
    assert call["event_id"] == "otel-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"
    assert (call["model"], call["model_version"]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert (call["input_tokens"], call["output_tokens"]) == (100, 180)
    assert call["latency_ms"] == pytest.approx(1200.0)
    assert call["ts"].startswith("2025-06-01T10:00:00") and call["finish_reason"] == "stop"
    (verdict,) = call["verdicts"]
    assert verdict["scanner"] == "LLM Guard" and verdict["label"] == "prompt_injection"
    assert (verdict["score"], verdict["action"], verdict["target"]) == (0.95, "block", "input")
    (evaluation,) = call["attributes"]["gen_ai.evaluations"]
    assert evaluation == {"name": "hallucination", "score": 0.82, "label": "fail"}
    again = httpx.post(url + "/v1/traces", json=EXAMPLE, headers=AUTH)
    assert again.status_code == 200 and len(_stored(runtime, "rag-api")) == 1  # re-export


def test_otlp_json_refusals_are_partial_success(watched_api: Any) -> None:
    url, _, _ = watched_api
    bad = json.loads(json.dumps(EXAMPLE))
    bad["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"] = "bad name!"
    answer = httpx.post(url + "/v1/traces", json=bad, headers=AUTH).json()
    assert answer["partialSuccess"]["rejectedSpans"] == "1"
    assert "deployment" in answer["partialSuccess"]["errorMessage"]
    broken = httpx.post(url + "/v1/traces", content=b"{", headers={
        **AUTH, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "body"
    garbage = httpx.post(url + "/v1/traces", content=b"\xff\xff\xff", headers={
        **AUTH, "Content-Type": "application/x-protobuf"})
    assert garbage.status_code == 400


def test_real_sdk_exporter_protobuf(watched_api: Any) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    url, runtime, seen = watched_api
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    # Two exporters, plain and gzip: every span arrives twice and is stored once.
    for compression in (Compression.NoCompression, Compression.Gzip):
        exporter = OTLPSpanExporter(endpoint=url + "/v1/traces", headers=AUTH,
                                    compression=compression)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test-app")
    messages = [{"role": "user", "parts": [{"type": "text", "content": "Where is my order?"}]}]
    output = [{"role": "assistant", "finish_reason": "stop",
               "parts": [{"type": "text", "content": "It ships tomorrow."}]}]
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 42,
            "gen_ai.usage.output_tokens": 7, "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps(messages),
            "gen_ai.output.messages": json.dumps(output), "user.id": "alice"})
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes({"gen_ai.operation.name": "chat",
                             "gen_ai.request.model": "gpt-4o-mini"})
        span.set_status(Status(StatusCode.ERROR, "rate limited"))
    with tracer.start_as_current_span("not an llm span"):
        pass
    provider.shutdown()

    ok, failed = sorted(_stored(runtime, "support-bot"), key=lambda e: e["status"] != "ok")
    assert ok["model"] == "gpt-4o-mini" and ok["input_tokens"] == 42 and ok["output_tokens"] == 7
    assert ok["messages"] == [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": "Where is my order?"}]
    assert ok["response"] == "It ships tomorrow." and ok["finish_reason"] == "stop"
    assert 0 < ok["latency_ms"] < 5000 and ok["user_id"].startswith("anon_")
    assert failed["status"] == "error" and failed["error"] == "rate limited"
    assert len(_stored(runtime, "support-bot")) == 2  # the plain span was ignored
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(seen) == 2  # published once each, though exported twice
