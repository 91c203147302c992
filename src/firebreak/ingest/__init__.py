"""Ingest: request bodies, validation with per-item refusals, redaction, OTLP GenAI traces.

The HTTP routes (api/routers/events.py, otlp.py) and `firebreak ingest` are thin shells
around `service.Ingestor` and `service.ingest_and_publish`.
"""

from firebreak.ingest.service import Ingestor, IngestResult, Refusal, ingest_and_publish

__all__ = ["IngestResult", "Ingestor", "Refusal", "ingest_and_publish"]
