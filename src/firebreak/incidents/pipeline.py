"""From observations to alerts to incidents: dedup by fingerprint, correlate, grade.

`Pipeline.observe` records the signal, updates its alert (firing or resolved), places a
firing alert in an incident (join, reopen or open: see correlate.py), writes the timeline
and re-grades severity. It returns the incident changes to publish on bus.INCIDENTS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from firebreak import metrics
from firebreak.config import IncidentSettings
from firebreak.incidents import lifecycle
from firebreak.incidents.alerting import Sources, inhibited, match_labels, rule_sources
from firebreak.incidents.correlate import place
from firebreak.incidents.observations import Observation
from firebreak.incidents.severity import assess, rank, worse
from firebreak.incidents.silences import Silence, list_silences, silenced_by
from firebreak.incidents.taxonomy import categories
from firebreak.store.alerting import AlertRow, SignalRow
from firebreak.store.db import Database
from firebreak.store.incidents import (
    Incident,
    append_timeline,
    create_incident,
    get_incident,
    new_incident_id,
    update_incident,
)

Change = dict[str, str]


@dataclass(frozen=True)
class MuteContext:
    """What mutes alerts at one moment: active silences, firing alerts' labels by fingerprint."""

    silences: list[Silence]
    sources: Sources  # per inhibit rule, the firing alerts matching its source side


def utcnow() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    """The synchronous core of the incidents stage (the stage runs it off the loop)."""

    def __init__(self, db: Database, settings: IncidentSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def observe(self, obs: Observation) -> list[Change]:
        """Handle one observation; returns [{"incident_id", "change"}] in commit order."""
        now = self.clock()
        alert, transition, signal_id = self._upsert_alert(obs, now)
        changes: list[Change] = []
        incident_id = linked = alert.incident_id
        if obs.status == "firing":
            incident_id = self._attach(alert, obs, now, changes)
        if incident_id and transition != "refresh":
            self._alert_timeline(alert, obs, incident_id, transition, now)
        if incident_id and obs.status == "firing":
            self._regrade(incident_id, obs, now, changes)
        if signal_id is not None and incident_id != linked:
            self._link_signal(signal_id, incident_id)
        metrics.alerts.labels(obs.category, transition).inc()
        return changes

    def _upsert_alert(self, obs: Observation,
                      now: datetime) -> tuple[AlertRow, str, int | None]:
        """Create or update the alert and store the signal, in one transaction (one fsync).

        Returns the alert, its transition (firing, resolved or refresh) and the signal row id.
        """
        with self.db.write() as session:
            row, transition = self._alert_row(session, obs, now)
            signal = self._signal_row(obs, row.incident_id)
            if signal is not None:
                session.add(signal)
                session.flush()
            return row, transition, signal.id if signal is not None else None

    def _alert_row(self, session: Session, obs: Observation,
                   now: datetime) -> tuple[AlertRow, str]:
        row = session.get(AlertRow, obs.fingerprint)
        if row is None:
            row = AlertRow(fingerprint=obs.fingerprint, deployment=obs.deployment,
                           category=obs.category, name=obs.name, source=obs.source,
                           status=obs.status, labels=obs.labels,
                           annotations=obs.annotations, starts_at=obs.ts, flaps=0,
                           ends_at=obs.ts if obs.status == "resolved" else None,
                           last_seen_at=now, value=obs.value)
            session.add(row)
            return row, obs.status
        transition = "refresh" if row.status == obs.status else obs.status
        if transition == "firing":
            row.starts_at, row.ends_at, row.flaps = obs.ts, None, row.flaps + 1
        elif transition == "resolved":
            row.ends_at = obs.ts
        row.status, row.last_seen_at, row.annotations = obs.status, now, obs.annotations
        if obs.value is not None:
            row.value = obs.value
        return row, transition

    def _attach(self, alert: AlertRow, obs: Observation, now: datetime,
                changes: list[Change]) -> str:
        """The incident a firing alert belongs to, opening or reopening one if needed."""
        if alert.incident_id:
            current = get_incident(self.db, alert.incident_id)
            if current.status in lifecycle.OPEN:
                return current.id
        placement = place(self.db, deployment=obs.deployment, category=obs.category, now=now,
                          settings=self.settings)
        # Link the alert first, so whoever sees the incident also sees its alert.
        incident_id = placement.incident_id or new_incident_id()
        with self.db.write() as session:
            live = session.get(AlertRow, alert.fingerprint)
            if live is not None:
                live.incident_id = incident_id
        alert.incident_id = incident_id
        if placement.action == "open":
            self._open(obs, now, incident_id)
            changes.append({"incident_id": incident_id, "change": "opened"})
        elif placement.action == "reopen":
            lifecycle.reopen(self.db, incident_id, actor="firebreak", now=now,
                             reason=f"alert {obs.name} fired again")
            changes.append({"incident_id": incident_id, "change": "reopened"})
        elif self._note_category(incident_id, obs, now):
            changes.append({"incident_id": incident_id, "change": "category"})
        return incident_id

    def _open(self, obs: Observation, now: datetime, incident_id: str) -> Incident:
        entry = categories().get(obs.category)
        found = assess(self.settings, obs.deployment, obs.category, obs.traffic_share)
        severity = worse(found.severity, obs.severity_hint) if obs.severity_hint else (
            found.severity)
        title = f"{entry.title if entry else obs.category} on {obs.deployment}"
        facts: dict[str, Any] = {**obs.facts, "alerts": 1}
        if obs.traffic_share is not None:
            facts["traffic_share"] = obs.traffic_share
        inc = Incident(id=incident_id, deployment=obs.deployment, category=obs.category,
                       severity=severity, status="detected",  # type: ignore[arg-type]
                       title=f"{title}: {obs.message}" if obs.message else title,
                       opened_at=now, updated_at=now, onset_at=obs.ts, facts=facts,
                       labels={**obs.labels, "categories": [obs.category]},
                       taxonomy=entry.tags() if entry else {})
        create_incident(self.db, inc)
        append_timeline(self.db, inc.id, kind="severity", actor="firebreak", ts=now,
                        message=f"graded {severity}: {', '.join(found.reasons) or 'no factors'}",
                        data={"severity": severity, "points": found.points})
        metrics.incidents.labels(obs.category, severity).inc()
        return inc

    def _note_category(self, incident_id: str, obs: Observation, now: datetime) -> bool:
        """Record a related category joining; True when it re-classifies the incident.

        A symptom (answer lengths drifted: performance_degradation) often fires a window
        before its diagnosis (ungrounded answers: hallucination). When the diagnosis joins an
        incident opened as the symptom, the incident takes the diagnosis's category, so the
        playbook for the cause runs and the report names it.
        """
        inc = get_incident(self.db, incident_id)
        cats = list(inc.labels.get("categories", [inc.category]))
        if obs.category in cats:
            return False
        labels = {**inc.labels, "categories": [*cats, obs.category]}
        table = categories()
        old, new = table.get(inc.category), table.get(obs.category)
        if old is None or new is None or not old.generic or new.generic:
            update_incident(self.db, incident_id, actor="firebreak", kind="correlate", now=now,
                            message=f"related {obs.category} alert {obs.name} joined",
                            labels=labels)
            return False
        title = f"{new.title} on {inc.deployment}"
        update_incident(self.db, incident_id, actor="firebreak", kind="correlate", now=now,
                        message=f"re-classified as {obs.category} (was {inc.category}): "
                                f"alert {obs.name} names the cause",
                        labels=labels, category=obs.category, taxonomy=new.tags(),
                        title=f"{title}: {obs.message}" if obs.message else title)
        return True

    def _alert_timeline(self, alert: AlertRow, obs: Observation, incident_id: str,
                        transition: str, now: datetime) -> None:
        muted = self.muted(alert, now) if transition == "firing" else {}
        note = "".join(f" ({k} by {v})" for k, v in muted.items())
        value = "" if obs.value is None else f" value={obs.value:g}"
        append_timeline(self.db, incident_id, kind="alert", actor=f"{obs.source}:{obs.name}",
                        ts=now, message=f"alert {obs.name} {transition}{value}{note}",
                        data={"fingerprint": obs.fingerprint, "status": transition, **muted})

    def mute_context(self, now: datetime) -> MuteContext:
        """Active silences and the labels of every firing alert, read once."""
        with self.db.session() as session:
            firing = session.scalars(select(AlertRow).where(AlertRow.status == "firing"))
            labels = {a.fingerprint: match_labels(a.labels, a.category, a.deployment)
                      for a in firing}
        sources = rule_sources(self.settings.inhibit_rules, labels)
        return MuteContext(list_silences(self.db, state="active", now=now), sources)

    def muted(self, alert: AlertRow, now: datetime,
              context: MuteContext | None = None) -> dict[str, str]:
        """{"silenced": silence id} and/or {"inhibited": rule index} for one alert."""
        ctx = context or self.mute_context(now)
        labels = match_labels(alert.labels, alert.category, alert.deployment)
        out: dict[str, str] = {}
        sil = silenced_by(ctx.silences, labels, now)
        if sil:
            out["silenced"] = sil
        rule = inhibited(self.settings.inhibit_rules, ctx.sources, labels, alert.fingerprint)
        if rule is not None:
            out["inhibited"] = f"inhibit_rules[{rule}]"
        return out

    def _regrade(self, incident_id: str, obs: Observation, now: datetime,
                 changes: list[Change]) -> None:
        """Escalate when the incident grows (never downgrades on its own)."""
        inc = get_incident(self.db, incident_id)
        share = max(float(inc.facts.get("traffic_share") or 0.0), obs.traffic_share or 0.0)
        found = assess(self.settings, inc.deployment, inc.category, share or None)
        target = worse(found.severity, obs.severity_hint) if obs.severity_hint else (
            found.severity)
        if share > float(inc.facts.get("traffic_share") or 0.0):
            update_incident(self.db, incident_id, actor="firebreak", kind="facts", now=now,
                            message=f"traffic share affected now {share:.0%}",
                            facts={**inc.facts, "traffic_share": share})
        if rank(target) < rank(inc.severity):
            lifecycle.set_severity(self.db, incident_id, target, actor="firebreak", now=now,
                                   reason=", ".join(found.reasons) or "rubric")
            changes.append({"incident_id": incident_id, "change": "severity"})

    def _signal_row(self, obs: Observation, incident_id: str | None) -> SignalRow | None:
        sig = obs.signal
        if sig is None:
            return None
        return SignalRow(fingerprint=obs.fingerprint, deployment=sig.deployment,
                         category=sig.category, detector=sig.detector, metric=sig.metric,
                         status=sig.status, value=sig.value, ts=sig.ts, incident_id=incident_id,
                         body=sig.model_dump(mode="json"))

    def _link_signal(self, signal_id: int, incident_id: str | None) -> None:
        with self.db.write() as session:
            row = session.get(SignalRow, signal_id)
            if row is not None:
                row.incident_id = incident_id
