"""Find incident, alert and action records that are new since each sink's cursor; send them.

Sources, each in a total order: timeline entries (by id: incident changes, alerts, action
intents and outcomes, notifications) and approval decisions on playbook steps (by decision
time, run, step), which are not on the timeline. Each sink keeps its own cursor, saved in
a small JSON file, and
moves it only after a batch was delivered, so a failing sink catches up later without
making the others send twice (at-least-once; `event.id` lets a SIEM drop repeats).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, select

from firebreak import metrics
from firebreak.errors import NotFound
from firebreak.siem.ecs import step_doc, timeline_doc
from firebreak.siem.sinks import Sink, SinkError
from firebreak.store import Database
from firebreak.store.incidents import Incident, TimelineEntry, TimelineRow, get_incident
from firebreak.store.playbooks import RunRow, StepRow

log = structlog.get_logger(__name__)
BATCH = 500
DECIDED = ("approved", "denied", "timed_out")


@dataclass
class Cursor:
    timeline: int = 0
    step: tuple[str, str, str] = ("", "", "")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class Exporter:
    """Sweeps the store for new records and delivers them to every sink."""

    def __init__(self, db: Database, sinks: list[Sink], state_file: Path | None = None) -> None:
        self.db, self.sinks, self.state_file = db, sinks, state_file
        saved = self._load()
        start = self.head()  # a first start exports from now on, not the whole history
        self.cursors = {s.name: saved.get(s.name, replace(start)) for s in sinks}
        self._lock = threading.Lock()  # the stage's final flush may overlap a running sweep

    def head(self) -> Cursor:
        """A cursor just past everything the store holds now."""
        with self.db.session() as session:
            last_id = session.scalar(select(func.max(TimelineRow.id))) or 0
            row = session.execute(select(StepRow.outcome_at, StepRow.run_id, StepRow.step_key)
                                  .where(StepRow.outcome_at.is_not(None), StepRow.action.is_(None))
                                  .order_by(StepRow.outcome_at.desc()).limit(1)).first()
        step = (_aware(row[0]).isoformat(), row[1], row[2]) if row and row[0] else ("", "", "")
        return Cursor(int(last_id), step)

    def sweep(self) -> int:
        """Deliver what is new; returns how many records were delivered (over all sinks)."""
        if not self.sinks:
            return 0
        with self._lock:
            return self._sweep()

    def _sweep(self) -> int:
        low = Cursor(min(c.timeline for c in self.cursors.values()),
                     min(c.step for c in self.cursors.values()))
        records = self._timeline(low.timeline) + self._steps(low.step)
        sent = 0
        for sink in self.sinks:
            cur = self.cursors[sink.name]
            pending = [r for r in records if r[0] == "timeline" and r[1] > cur.timeline
                       or r[0] == "step" and r[1] > cur.step]
            if pending and self._deliver(sink, [r[2] for r in pending]):
                sent += len(pending)
                for source, key, _ in pending:
                    if source == "timeline":
                        cur.timeline = max(cur.timeline, key)
                    else:
                        cur.step = max(cur.step, key)
        self._save()
        return sent

    def _deliver(self, sink: Sink, docs: list[dict[str, Any]]) -> bool:
        try:
            sink.send(docs)
        except SinkError as exc:
            metrics.siem_exports.labels(sink.name, "failed").inc(len(docs))
            log.warning("siem.send_failed", sink=sink.name, records=len(docs), error=str(exc))
            return False
        metrics.siem_exports.labels(sink.name, "sent").inc(len(docs))
        return True

    def _incident(self, cache: dict[str, Incident | None], incident_id: str) -> Incident | None:
        if incident_id not in cache:
            try:
                cache[incident_id] = get_incident(self.db, incident_id)
            except NotFound:
                cache[incident_id] = None
        return cache[incident_id]

    def _timeline(self, after: int) -> list[tuple[str, Any, dict[str, Any]]]:
        q = select(TimelineRow).where(TimelineRow.id > after).order_by(TimelineRow.id).limit(BATCH)
        with self.db.session() as session:
            entries = [TimelineEntry.model_validate(r, from_attributes=True)
                       for r in session.scalars(q)]
        cache: dict[str, Incident | None] = {}
        out: list[tuple[str, Any, dict[str, Any]]] = []
        for e in entries:
            inc = self._incident(cache, e.incident_id)
            if inc is not None:
                out.append(("timeline", e.id, timeline_doc(inc, e)))
        return out

    def _steps(self, after: tuple[str, str, str]) -> list[tuple[str, Any, dict[str, Any]]]:
        q = (select(StepRow, RunRow.playbook, RunRow.incident_id)
             .join(RunRow, RunRow.id == StepRow.run_id)
             .where(StepRow.outcome_at.is_not(None), StepRow.action.is_(None),
                    StepRow.status.in_(DECIDED))
             .order_by(StepRow.outcome_at).limit(BATCH))
        if after[0]:
            q = q.where(StepRow.outcome_at >= datetime.fromisoformat(after[0]))
        with self.db.session() as session:
            rows = [({c: getattr(s, c) for c in ("run_id", "step_key", "action", "status",
                                                 "attempt", "error", "decided_by",
                                                 "intent_at", "outcome_at")}, pb, iid)
                    for s, pb, iid in session.execute(q)]
        cache: dict[str, Incident | None] = {}
        out: list[tuple[str, Any, dict[str, Any]]] = []
        for step, playbook, incident_id in rows:
            step["outcome_at"] = _aware(step["outcome_at"])
            key = (step["outcome_at"].isoformat(), step["run_id"], step["step_key"])
            inc = self._incident(cache, incident_id)
            if key > after and inc is not None:
                out.append(("step", key, step_doc(inc, playbook, step)))
        return out

    def _load(self) -> dict[str, Cursor]:
        if self.state_file is None or not self.state_file.is_file():
            return {}
        data = json.loads(self.state_file.read_text())
        return {k: Cursor(v["timeline"], tuple(v["step"])) for k, v in data.items()}  # type: ignore[arg-type]

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in self.cursors.items()}))
        tmp.replace(self.state_file)
