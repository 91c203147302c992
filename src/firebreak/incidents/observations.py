"""One shape for what the incidents stage observes: a detector's signal or an external alert."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from firebreak.events import ExternalAlert
from firebreak.incidents.taxonomy import categories
from firebreak.signals import Signal

# External alerts without a `category` label are classified by name, first match wins.
_NAME_HINTS = (
    (r"indirect", "indirect_injection"), (r"inject", "prompt_injection"),
    (r"jailbreak", "jailbreak"), (r"rag.?poison", "rag_poisoning"),
    (r"poison", "data_poisoning"), (r"embedding", "embedding_manipulation"),
    (r"drift", "data_drift"), (r"hallucinat", "hallucination"),
    (r"toxic|unsafe", "unsafe_output"), (r"pii|leak|secret", "sensitive_data_leak"),
    (r"system.?prompt", "system_prompt_leak"), (r"agency|tool", "excessive_agency"),
    (r"cost|token|consumption|budget", "unbounded_consumption"),
    (r"down|unavailable|unreachable|outage|5xx|error.?rate", "availability"),
    (r"latency|slow|accuracy|quality|degrad", "performance_degradation"),
)
SEVERITY_LABELS = {"critical": "SEV1", "page": "SEV1", "high": "SEV2", "error": "SEV2",
                   "warning": "SEV3", "medium": "SEV3", "low": "SEV4", "info": "SEV4"}


@dataclass(frozen=True)
class Observation:
    """A firing or resolved report about one alert (one fingerprint)."""

    fingerprint: str
    name: str
    deployment: str
    category: str
    status: str
    ts: datetime
    source: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    value: float | None = None
    traffic_share: float | None = None
    message: str = ""
    severity_hint: str | None = None
    signal: Signal | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def from_signal(sig: Signal) -> Observation:
    """A detector's signal; its alert is identified by `Signal.fingerprint`."""
    share = sig.facts.get("traffic_share")
    return Observation(
        fingerprint=sig.fingerprint, name=f"{sig.detector}:{sig.metric}",
        deployment=sig.deployment, category=sig.category, status=sig.status, ts=sig.ts,
        source="signal", labels=sig.alert_labels(), annotations={"message": sig.message},
        value=sig.value, traffic_share=float(share) if isinstance(share, int | float) else None,
        message=sig.message, signal=sig,
        facts={k: v for k, v in sig.facts.items() if _fact(v)})


def _fact(value: object) -> bool:
    """Scalars and short lists of scalars (e.g. top_api_keys, which playbooks act on)."""
    if isinstance(value, list):
        return len(value) <= 50 and all(isinstance(v, int | float | str) for v in value)
    return isinstance(value, int | float | str)


def classify(name: str, labels: dict[str, str]) -> str:
    """The taxonomy category of an external alert: its `category` label, else by name."""
    label = labels.get("category", "")
    if label in categories():
        return label
    for pattern, slug in _NAME_HINTS:
        if re.search(pattern, name, re.IGNORECASE):
            return slug
    return "performance_degradation"


def from_external(ev: ExternalAlert) -> Observation:
    """An alert from Alertmanager, Grafana or a webhook."""
    labels = {k: str(v) for k, v in ev.labels.items()}
    labels.setdefault("alertname", ev.name)
    fp = ev.fingerprint or _fingerprint(ev.deployment, labels)
    share = _float(ev.annotations.get("traffic_share") or labels.get("traffic_share"))
    severity = ev.severity or labels.get("severity")
    ts = ev.ends_at if ev.status == "resolved" and ev.ends_at else (ev.starts_at or ev.ts)
    return Observation(
        fingerprint=f"ext-{fp}", name=ev.name, deployment=ev.deployment,
        category=classify(ev.name, labels), status=ev.status, ts=ts, source=ev.origin,
        labels=labels, annotations=dict(ev.annotations), traffic_share=share,
        message=ev.annotations.get("summary") or ev.annotations.get("description") or ev.name,
        severity_hint=SEVERITY_LABELS.get((severity or "").lower()))


def _fingerprint(deployment: str, labels: dict[str, str]) -> str:
    items = sorted({**labels, "deployment": deployment}.items())
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


def _float(text: str | None) -> float | None:
    try:
        return float(text.rstrip("%")) / (100 if text.endswith("%") else 1) if text else None
    except ValueError:
        return None
