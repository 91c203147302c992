"""The signal contract: one observation that something is off.

Detectors return signals; the incidents stage turns streams of them into alerts and
incidents. A signal carries enough to explain itself: the metric, its value and
threshold, the window, the top contributors and the events that show it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class Contributor(BaseModel):
    """Something that drove a signal: a feature, API key, user, source, document or tool."""

    kind: Literal["feature", "api_key", "user", "source", "document", "tool", "client_ip",
                  "session", "model_version", "category", "other"]
    key: str
    value: float | None = None
    detail: str | None = None


class Signal(BaseModel):
    """One observation that something is off."""

    deployment: str
    detector: str
    metric: str
    value: float
    threshold: float | None = None
    status: Literal["firing", "resolved"] = "firing"
    category: str = Field(description="taxonomy category slug, e.g. prompt_injection, data_drift")
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    window_start: datetime | None = None
    window_end: datetime | None = None
    message: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    contributors: list[Contributor] = Field(default_factory=list)
    evidence_event_ids: list[str] = Field(default_factory=list, max_length=1000)
    facts: dict[str, Any] = Field(default_factory=dict, description="numbers playbooks may read")

    def alert_labels(self) -> dict[str, str]:
        """Labels that identify the alert this signal belongs to."""
        return {"deployment": self.deployment, "detector": self.detector,
                "metric": self.metric, "category": self.category, **self.labels}

    @property
    def fingerprint(self) -> str:
        items = sorted(self.alert_labels().items())
        return hashlib.sha256(repr(items).encode()).hexdigest()[:16]
