"""The event schema, version 1.

One event is one telemetry record from a deployment. `kind` picks the shape; every kind
shares the envelope (`event_id`, `ts`, `deployment`, `model`, `model_version`). `event_id`
is the idempotency key: an event sent twice is stored once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = 1
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][\w.:\-/@]*$")]
Id = Annotated[str, Field(min_length=1, max_length=200)]
Scalar = float | int | str | bool | None


def _new_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Span(_Model):
    """Where in a text a scanner found something."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str | None = None


class Verdict(_Model):
    """One scanner's judgement on one text (the scanner contract's return value)."""

    scanner: str
    score: float = Field(ge=0.0, le=1.0)
    label: str = Field(description="what was found, e.g. injection, jailbreak, pii, clean")
    spans: list[Span] = Field(default_factory=list)
    reason: str = ""
    target: Literal["input", "output", "chunk", "tool", "text"] = "text"
    doc_id: str | None = None
    source: str | None = None
    action: Literal["allow", "monitor", "block", "redact"] = "allow"
    strict_only: bool = Field(False, description="flagged only because strict mode lowered "
                              "the scanner's threshold")

    @property
    def flagged(self) -> bool:
        return self.label not in ("clean", "allow", "benign")

    @property
    def counted(self) -> bool:
        """Flagged at the scanner's own threshold: what detectors count. Strict mode is a
        containment; were its extra flags counted, containment would raise the very rates
        it is judged by (and look like a new attack on the clean traffic it blocks)."""
        return self.flagged and not self.strict_only


class Message(_Model):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str = ""
    name: str | None = None


class RetrievedChunk(_Model):
    doc_id: Id
    source: str | None = None
    text: str = ""
    score: float | None = None
    embedding: list[float] | None = None


class ToolCall(_Model):
    name: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    output: str | None = None


class _Envelope(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: Id = Field(default_factory=_new_id, description="idempotency key")
    ts: datetime = Field(default_factory=_now)
    deployment: Name
    model: str | None = Field(None, max_length=200)
    model_version: str | None = Field(None, max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict, description="free-form labels")


class LLMCall(_Envelope):
    """One call to an LLM: what went in, what came out, and what it cost."""

    kind: Literal["llm.call"] = "llm.call"
    messages: list[Message] = Field(default_factory=list)
    response: str | None = None
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    latency_ms: float | None = Field(None, ge=0)
    input_tokens: int | None = Field(None, ge=0)
    output_tokens: int | None = Field(None, ge=0)
    cost_usd: float | None = Field(None, ge=0)
    user_id: str | None = Field(None, max_length=200)
    session_id: str | None = Field(None, max_length=200)
    api_key_id: str | None = Field(None, max_length=200)
    request_id: str | None = Field(None, max_length=200)
    client_ip: str | None = Field(None, max_length=64)
    status: Literal["ok", "error", "blocked"] = "ok"
    error: str | None = None
    finish_reason: str | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    embedding: list[float] | None = None


class Prediction(_Envelope):
    """One prediction of a tabular or classic ML model."""

    kind: Literal["prediction"] = "prediction"
    prediction_id: Id = Field(default_factory=_new_id)
    features: dict[str, Scalar] = Field(default_factory=dict)
    output: Scalar = None
    score: float | None = None
    probabilities: dict[str, float] | None = None
    embedding: list[float] | None = None
    latency_ms: float | None = Field(None, ge=0)
    request_id: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200)
    status: Literal["ok", "error"] = "ok"


class Label(_Envelope):
    """The ground truth for an earlier prediction, joined by prediction_id."""

    kind: Literal["label"] = "label"
    prediction_id: Id
    label: Scalar


class RagDocument(_Envelope):
    """A document written to (or removed from) a RAG index."""

    kind: Literal["rag.document"] = "rag.document"
    doc_id: Id
    source: str = Field(min_length=1, max_length=500)
    text: str = ""
    embedding: list[float] | None = None
    operation: Literal["upsert", "delete"] = "upsert"


class TrainingBatch(_Envelope):
    """A batch of training rows about to be used to (re)train a model."""

    kind: Literal["training.batch"] = "training.batch"
    batch_id: Id = Field(default_factory=_new_id)
    dataset: str | None = None
    label_column: str = "label"
    rows: list[dict[str, Scalar]] = Field(default_factory=list)


class Metric(_Envelope):
    """A named measurement the deployment reports itself."""

    kind: Literal["metric"] = "metric"
    name: str = Field(min_length=1, max_length=200)
    value: float
    labels: dict[str, str] = Field(default_factory=dict)


class ExternalAlert(_Envelope):
    """An alert raised by another monitor (Alertmanager, Grafana, a webhook)."""

    kind: Literal["alert"] = "alert"
    name: str = Field(min_length=1, max_length=200)
    status: Literal["firing", "resolved"] = "firing"
    severity: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str | None = None
    origin: str = "webhook"


Event = Annotated[
    LLMCall | Prediction | Label | RagDocument | TrainingBatch | Metric | ExternalAlert,
    Field(discriminator="kind"),
]
EVENT_KINDS = ("llm.call", "prediction", "label", "rag.document", "training.batch", "metric",
               "alert")
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: Any) -> Event:
    """Validate one event from plain data; raises pydantic.ValidationError."""
    return event_adapter.validate_python(data)


def events_json_schema() -> dict[str, Any]:
    """JSON Schema of the event union, served at /v1/schema/events and kept in docs/."""
    schema = event_adapter.json_schema()
    schema["title"] = "Firebreak event v1"
    return schema
