"""The case file: an incident, its window, its events and its evidence ids, loaded once.

Analyzers, the timeline and the report all read a Case, so they agree on the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from firebreak.events import Event, LLMCall
from firebreak.store.db import Database
from firebreak.store.events import EventFilter, load_events
from firebreak.store.incidents import Incident, TimelineEntry, get_incident, timeline

ATTACK_LABELS = frozenset({"injection", "prompt_injection", "jailbreak", "indirect_injection"})
LOOKBACK = timedelta(days=7)  # how far back RAG ingestion and training batches are searched
HISTORY_KINDS = ("rag.document", "training.batch")


class Finding(BaseModel):
    """One root-cause (or impact) finding with its confidence and the evidence behind it."""

    analyzer: str
    kind: Literal["cause", "impact", "observation"] = "cause"
    title: str
    cause: str = Field(description="what the finding blames, e.g. 'api_key:k-17'")
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str
    evidence_ids: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    taxonomy: dict[str, Any] = Field(default_factory=dict)


def utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@dataclass
class Case:
    """An incident with its window [start, end), onset, containment and events."""

    incident: Incident
    onset: datetime
    start: datetime
    end: datetime
    contained_at: datetime | None
    entries: list[TimelineEntry]
    events: list[Event]
    history: list[Event]
    evidence_ids: dict[str, list[str]] = field(default_factory=dict)

    def evidence_for(self, *kinds: str) -> list[str]:
        """Evidence ids of the snapshot records holding events of `kinds`."""
        return [i for k in kinds for i in self.evidence_ids.get(f"events:{k}", [])]

    def of_kind(self, kind: str, *, history: bool = False) -> list[Event]:
        return [e for e in (self.history if history else self.events) if e.kind == kind]


def case_window(inc: Incident, window_seconds: int) -> tuple[datetime, datetime, datetime]:
    """(onset, start, end): `window_seconds` either side of onset, and on to resolution (or
    now, while the incident is open)."""
    onset = utc(inc.onset_at or inc.opened_at)
    window = timedelta(seconds=window_seconds)
    last = utc(inc.resolved_at) if inc.resolved_at else datetime.now(UTC)
    return onset, onset - window, max(onset + window, last + timedelta(seconds=1))


def history_filters(inc: Incident, onset: datetime, end: datetime) -> list[EventFilter]:
    """Where the case looks for the data the model was built from (RAG ingests, training)."""
    return [EventFilter(deployment=inc.deployment, kind=kind, since=onset - LOOKBACK, until=end)
            for kind in HISTORY_KINDS]


def load_case(db: Database, incident_id: str, window_seconds: int = 900) -> Case:
    """Load an incident and the events of its deployment around onset."""
    inc = get_incident(db, incident_id)
    entries = timeline(db, incident_id)
    onset, start, end = case_window(inc, window_seconds)
    events = load_events(db, EventFilter(deployment=inc.deployment, since=start, until=end))
    history = [e for f in history_filters(inc, onset, end) for e in load_events(db, f)]
    contained = status_time(entries, "contained")
    return Case(inc, onset, start, end, contained, entries, events, history)


def status_time(entries: list[TimelineEntry], status: str) -> datetime | None:
    """When the incident first reached `status`, from its timeline."""
    for e in entries:
        data = e.data or {}
        after = data.get("after") if isinstance(data.get("after"), dict) else {}
        if data.get("status") == status or (after or {}).get("status") == status:
            return utc(e.ts)
    return None


def is_flagged(e: Event) -> bool:
    """Whether an event shows the problem: a flagged verdict, a block, or a 'flagged' mark."""
    attrs = e.attributes or {}
    if attrs.get("flagged") or attrs.get("bad_answer"):
        return True
    if isinstance(e, LLMCall):
        return e.status == "blocked" or any(v.flagged for v in e.verdicts)
    return False


def attack_label(e: Event) -> str | None:
    """The injection/jailbreak label a scanner gave this call, if any."""
    if isinstance(e, LLMCall):
        for v in e.verdicts:
            if v.label in ATTACK_LABELS and v.score >= 0.5:
                return v.label
    return None


def user_text(e: LLMCall) -> str:
    return "\n".join(m.content for m in e.messages if m.role == "user")
