"""Intake of external alerts: Alertmanager webhook v4 and a generic JSON webhook.

Both become ExternalAlert events (kind "alert") that go through ingest, so they are
durable before the receiver answers and reach the incidents stage on bus.EVENTS. The
event id hashes fingerprint, status and start time: Alertmanager re-sends a group every
group_interval, and those repeats are stored once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Alertmanager writes "0001-01-01T00:00:00Z" for "no end yet".
_ZERO_YEAR = 1


class AmAlert(BaseModel):
    """One alert of an Alertmanager webhook message."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - Alertmanager's wire names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""


class AmMessage(BaseModel):
    """Alertmanager's webhook payload (`notify/webhook.Message`, version "4")."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[AmAlert] = Field(max_length=10_000)


class GenericAlert(BaseModel):
    """One alert posted to the generic webhook (Grafana, Evidently, scripts)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    status: Literal["firing", "resolved"] = "firing"
    deployment: str | None = Field(None, min_length=1, max_length=200)
    severity: str | None = None
    category: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str | None = None


class GenericBatch(BaseModel):
    alerts: list[GenericAlert] = Field(min_length=1, max_length=10_000)


def _deployment(labels: dict[str, str], default: str | None) -> str:
    for key in ("deployment", "service", "app", "job"):
        if labels.get(key):
            return labels[key]
    return default or "unknown"


def _event_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def _real(ts: datetime | None) -> datetime | None:
    return None if ts is None or ts.year <= _ZERO_YEAR else ts


def from_alertmanager(msg: AmMessage, *, default_deployment: str | None = None,
                      ) -> list[dict[str, Any]]:
    """ExternalAlert events (as plain data) for every alert of one webhook message."""
    out = []
    for alert in msg.alerts:
        labels = {**msg.commonLabels, **alert.labels}
        annotations = {**msg.commonAnnotations, **alert.annotations}
        if alert.generatorURL:
            annotations.setdefault("generator_url", alert.generatorURL)
        name = labels.get("alertname", "alertmanager")
        fp = alert.fingerprint or _event_id(sorted(labels.items()))[:16]
        starts, ends = _real(alert.startsAt), _real(alert.endsAt)
        out.append({
            "kind": "alert", "event_id": _event_id("am", fp, alert.status, starts),
            "deployment": _deployment(labels, default_deployment), "name": name[:200],
            "status": alert.status, "severity": labels.get("severity"), "labels": labels,
            "annotations": annotations, "starts_at": starts,
            "ends_at": ends if alert.status == "resolved" else None,
            "fingerprint": fp, "origin": "alertmanager",
            "attributes": {"group_key": msg.groupKey, "receiver": msg.receiver},
        })
    return out


def from_generic(batch: GenericBatch, *, now: datetime, default_deployment: str | None = None,
                 ) -> list[dict[str, Any]]:
    """ExternalAlert events for the generic webhook (no start time: received at `now`)."""
    out = []
    for alert in batch.alerts:
        starts = alert.starts_at or (now if alert.status == "firing" else None)
        labels = dict(alert.labels)
        if alert.category:
            labels["category"] = alert.category
        deployment = alert.deployment or _deployment(labels, default_deployment)
        fp = alert.fingerprint or _event_id(deployment, alert.name, sorted(labels.items()))[:16]
        out.append({
            "kind": "alert", "event_id": _event_id("wh", fp, alert.status, starts,
                                                   alert.ends_at or now),
            "deployment": deployment, "name": alert.name, "status": alert.status,
            "severity": alert.severity, "labels": labels, "annotations": alert.annotations,
            "starts_at": starts, "ends_at": alert.ends_at, "fingerprint": fp,
            "origin": "webhook",
        })
    return out
