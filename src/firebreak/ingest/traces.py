"""POST /v1/traces: decode an OTLP export, map GenAI spans to llm.call events, ingest them.

The answer is an ExportTraceServiceResponse in the request's encoding; spans whose event
is refused are counted in `partial_success.rejected_spans`, with the first reasons.
"""

from __future__ import annotations

from typing import Any

import orjson

from firebreak.ingest.otlp import spans_to_events
from firebreak.ingest.otlp_decode import decode
from firebreak.ingest.service import IngestResult, ingest_and_publish


async def ingest_traces(runtime: Any, body: bytes, content_type: str | None
                        ) -> tuple[IngestResult, bytes, str]:
    """(result, response body, response media type) for one OTLP/HTTP trace export."""
    spans = decode(body, content_type)
    events, origins = spans_to_events(spans)
    result = await ingest_and_publish(runtime, events, source="otlp")
    message = "; ".join(
        f"span {origins[r.index].span_id}: {r.field}: {r.reason}" for r in result.refused[:5])
    rejected = len(result.refused)
    if (content_type or "").split(";", 1)[0].strip().lower() in ("application/json", "text/json"):
        partial = ({"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
                   if rejected else {})
        return result, orjson.dumps(partial), "application/json"
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTracePartialSuccess,
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=message))
    return result, response.SerializeToString(), "application/x-protobuf"
