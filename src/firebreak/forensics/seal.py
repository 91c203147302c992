"""Sealed event slices: each closed minute of a deployment's events, one blob per kind.

A drift incident's containment is its evidence snapshot, and copying an hour of events at
that moment (100,000 flight events, 40 MB) took 0.9-1.0 s in the chaos world, a third of
it reading pages the host had already evicted. Sealing each minute soon after it closes
moves that work off the incident's path: a snapshot cites the sealed slices of its window
and copies only the edges (the part of a minute before the first whole one, and what is
not sealed yet: about the last minute and a half).

A slice is only cited while it still holds every event of its minute. Events are never
changed or deleted, so counts only grow: each seal keeps `events_before`, the deployment's
events before its end by the slices' counts (plus a count, taken when sealing began, of
what came before). When the deployment's running count (kept at ingest) minus the events
not sealed yet still equals it, no sealed minute gained a late event; one statement that
reads only the last minute or two of the index proves it. Otherwise the window is counted,
and a minute that gained events is read from the database again. Each slice also keeps the
model versions of its events, so a snapshot lists the window's versions without a scan.
Slices older than `forensics.seal_keep_seconds` are dropped with their blobs unless evidence
cites them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import orjson
import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from firebreak.config import Settings
from firebreak.forensics.case import utc
from firebreak.forensics.evidence import Blob, blob_path, write_blob
from firebreak.store.db import Database
from firebreak.store.events import (
    EventFilter,
    count_events,
    deployment_kinds,
    joined_payloads,
    model_versions,
)
from firebreak.store.forensics import EventSealRow, EventSliceRow, EvidencePieceRow
from firebreak.store.models import DeploymentRow, EventRow

log = structlog.get_logger(__name__)

MINUTE = timedelta(minutes=1)
GRACE = timedelta(seconds=10)  # a minute is sealed this long after it closes: batches land
PRUNE_LAG = timedelta(minutes=5)  # longer than any snapshot takes
REDACTED = "[redacted]"


def seal_due(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Seal every closed minute not sealed yet, of every deployment; drop slices past
    keeping. Returns the slices written."""
    keep = settings.forensics.seal_keep_seconds
    if not keep:
        return 0
    now = now or datetime.now(UTC)
    closed, oldest = _floor(now - GRACE), _floor(now - timedelta(seconds=keep))
    with db.session() as session:
        deployments = session.execute(select(DeploymentRow.name,
                                             DeploymentRow.last_seen)).all()
        seals = {r.deployment: r for r in session.scalars(select(EventSealRow))}
    written = 0
    for name, last_seen in deployments:
        seal = seals.get(name)
        start = max(oldest, utc(seal.sealed_until)) if seal else oldest
        kinds = deployment_kinds(db, name)
        while start < closed:
            if utc(last_seen) < start:
                # nothing arrived since this minute began (a late event with an old time is
                # caught by the counts, see window_parts)
                _seal(db, settings, name, [], start, closed, oldest)
                break
            written += _seal(db, settings, name, kinds, start, start + MINUTE, oldest)
            start += MINUTE
    _prune(db, settings, oldest)
    return written


def _seal(db: Database, settings: Settings, deployment: str, kinds: list[str],
          since: datetime, until: datetime, oldest: datetime) -> int:
    """Seal [since, until): one slice per kind with events; returns the slices written."""
    rows = []
    for kind in kinds:
        f = EventFilter(deployment=deployment, kind=kind, since=since, until=until)
        written = events_blob(settings, f, db)
        if written is not None:
            blob, count = written
            rows.append(EventSliceRow(deployment=deployment, kind=kind, since=since,
                                      count=count, blob_sha256=blob.sha256, size=blob.size,
                                      versions=_tallies(model_versions(db, f))))
    sealed = sum(r.count for r in rows)
    try:
        with db.write() as session:
            seal = session.get(EventSealRow, deployment)
            if seal is None:
                seal = EventSealRow(deployment=deployment, sealed_from=max(since, oldest),
                                    sealed_until=since)
                session.add(seal)
            if utc(seal.sealed_until) > since:
                return 0  # another sealer got here first
            if utc(seal.sealed_until) < since or seal.events_before is None:
                # a gap (sealing was off) or sealing began: start again from here, counting
                # what came before now (it can only grow, like every count of events)
                seal.sealed_from = max(since, oldest)
                seal.events_before = events_before(session, deployment, since)
            seal.sealed_until = until
            seal.events_before = int(seal.events_before or 0) + sealed
            session.add_all(rows)
    except IntegrityError:
        return 0  # another sealer wrote this minute
    return len(rows)


def events_before(session: Any, deployment: str, ts: datetime) -> int:
    """The deployment's events with a time before `ts`, in one statement (so one snapshot
    of the database): its running count less those at or after `ts`, which reads only the
    index from `ts` on."""
    since = select(func.count()).select_from(EventRow).where(
        EventRow.deployment == deployment, EventRow.ts >= ts).scalar_subquery()
    total = session.scalar(select(DeploymentRow.event_count - since)
                           .where(DeploymentRow.name == deployment))
    return int(total or 0)


def _prune(db: Database, settings: Settings, oldest: datetime) -> None:
    """Forget slices older than keeping (a snapshot cites only minutes from `sealed_from`,
    moved to `oldest` here; slices go PRUNE_LAG later, so one being cited is not pulled
    away); their blobs go too unless an evidence record names them."""
    gone = oldest - PRUNE_LAG
    with db.write() as session:
        session.execute(update(EventSealRow).where(EventSealRow.sealed_from < oldest)
                        .values(sealed_from=oldest))
        stale = list(session.scalars(select(EventSliceRow.blob_sha256)
                                     .where(EventSliceRow.since < gone)))
        session.execute(delete(EventSliceRow).where(EventSliceRow.since < gone))
        cited = set(session.scalars(select(EvidencePieceRow.sha256)
                                    .where(EvidencePieceRow.sha256.in_(stale))))
    for sha in set(stale) - cited:
        blob_path(settings, sha).unlink(missing_ok=True)


def events_blob(settings: Settings, f: EventFilter, db: Database,
                redact: list[str] | None = None) -> tuple[Blob, int] | None:
    """The events matching `f` (it needs since and until) as a JSON array of their payloads,
    oldest first, written to a blob a slice at a time; None when there are none."""
    slices = joined_payloads(db, f)
    first = next(slices, None)
    if first is None:
        return None
    counted = [0]
    blob = write_blob(settings, _json_array(chain([first], slices), redact or [], counted))
    return blob, counted[0]


def _json_array(slices: Iterable[tuple[int, bytes]], redact: list[str],
                counted: list[int]) -> Iterator[bytes]:
    """b"[" slice,slice,... b"]" in pieces, adding up the events in `counted`; blanks the
    `redact` fields when there are any (each payload is then parsed and dumped again)."""
    sep = b"["
    for count, joined in slices:
        counted[0] += count
        if redact:
            events = orjson.loads(b"[" + joined + b"]")
            joined = orjson.dumps([_redacted(e, redact) for e in events])[1:-1]
        yield sep
        yield joined
        sep = b","
    yield b"]"


def _redacted(event: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    for name in fields:
        if name in event:
            event[name] = REDACTED
        if name in event.get("attributes", {}):
            event["attributes"][name] = REDACTED
    return event


@dataclass(frozen=True)
class Part:
    """A stretch of a window: its sealed slices by kind, or None: read it from the database."""

    since: datetime
    until: datetime
    sealed: dict[str, EventSliceRow] | None


def window_parts(db: Database, deployment: str, since: datetime, until: datetime) -> list[Part]:
    """The window split into sealed minutes (still whole) and stretches to read, in order."""
    with db.session() as session:
        seal = session.get(EventSealRow, deployment)
        if seal is None:
            return [Part(since, until, None)]
        lo = max(_ceil(since), utc(seal.sealed_from))
        hi = min(_floor(until), utc(seal.sealed_until))
        if hi <= lo:
            return [Part(since, until, None)]
        proved = seal.events_before is not None and events_before(
            session, deployment, utc(seal.sealed_until)) == seal.events_before
    minutes = _slices(db, deployment, lo, hi)
    whole = (set(_every_minute(lo, hi)) if proved
             else _whole_minutes(db, deployment, lo, hi, minutes))
    parts = [Part(since, lo, None)]
    t = lo
    while t < hi:
        if t in whole:
            parts.append(Part(t, t + MINUTE, minutes.get(t, {})))
        else:
            parts.append(Part(t, t + MINUTE, None))
        t += MINUTE
    parts.append(Part(hi, until, None))
    return _merged(p for p in parts if p.since < p.until)


def _slices(db: Database, deployment: str, lo: datetime,
            hi: datetime) -> dict[datetime, dict[str, EventSliceRow]]:
    """minute -> kind -> its slice, for the minutes in [lo, hi)."""
    with db.session() as session:
        rows = session.scalars(select(EventSliceRow).where(
            EventSliceRow.deployment == deployment, EventSliceRow.since >= lo,
            EventSliceRow.since < hi))
        minutes: dict[datetime, dict[str, EventSliceRow]] = {}
        for row in rows:
            minutes.setdefault(utc(row.since), {})[row.kind] = row
    return minutes


def warm_up(db: Database) -> None:
    """Run a snapshot's plan queries once (see firebreak.forensics.snapshot.warm_up)."""
    hi = _floor(datetime.now(UTC))
    _whole_minutes(db, "", hi - MINUTE, hi, _slices(db, "", hi - MINUTE, hi))
    with db.session() as session:
        events_before(session, "", hi)


def clip(parts: list[Part], since: datetime, until: datetime) -> list[Part]:
    """The parts of [since, until): a sealed minute cut by an edge is read instead."""
    out = []
    for p in parts:
        lo, hi = max(p.since, since), min(p.until, until)
        if lo < hi:
            whole = (lo, hi) == (p.since, p.until)
            out.append(Part(lo, hi, p.sealed if whole else None))
    return _merged(out)


def _whole_minutes(db: Database, deployment: str, lo: datetime, hi: datetime,
                   minutes: dict[datetime, dict[str, EventSliceRow]]) -> set[datetime]:
    """The minutes in [lo, hi) whose slices still hold all their events: one count of the
    range (from the index), and one per minute only when some arrived late."""
    def sealed(t: datetime) -> int:
        return sum(r.count for r in minutes.get(t, {}).values())

    every = _every_minute(lo, hi)
    if count_events(db, EventFilter(deployment=deployment, since=lo, until=hi)) == \
            sum(map(sealed, every)):
        return set(every)
    late = [t for t in every
            if count_events(db, EventFilter(deployment=deployment, since=t,
                                            until=t + MINUTE)) != sealed(t)]
    log.info("forensics.late_events", deployment=deployment, minutes=len(late))
    return set(every) - set(late)


def _every_minute(lo: datetime, hi: datetime) -> list[datetime]:
    return [lo + i * MINUTE for i in range(int((hi - lo) / MINUTE))]


def window_versions(db: Database, f: EventFilter, parts: list[Part]) -> dict[str, Any]:
    """`model_versions` of `f`'s window (cut into `parts`, see window_parts): sealed minutes
    add up their slices' tallies, the rest is asked of the database."""
    out: dict[str, dict[str, Any]] = {}

    def add(version: str, first: datetime, last: datetime, count: int) -> None:
        seen = out.setdefault(version, {"first_seen": first, "last_seen": last, "count": 0})
        seen["first_seen"] = min(seen["first_seen"], first)
        seen["last_seen"] = max(seen["last_seen"], last)
        seen["count"] += count

    for part in parts:
        slices = list((part.sealed or {}).values())
        if part.sealed is not None and all(r.versions is not None for r in slices):
            for row in slices:
                for version, (first, last, count) in (row.versions or {}).items():
                    add(version, datetime.fromisoformat(first), datetime.fromisoformat(last),
                        count)
            continue
        piece = replace(f, since=part.since, until=part.until)
        for version, seen in model_versions(db, piece).items():
            add(version, seen["first_seen"], seen["last_seen"], seen["count"])
    return out


def _tallies(versions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`model_versions` as a slice keeps it (JSON)."""
    return {v: [s["first_seen"].isoformat(), s["last_seen"].isoformat(), s["count"]]
            for v, s in versions.items()}


def _merged(parts: Iterable[Part]) -> list[Part]:
    """Adjacent stretches to read become one (one set of queries instead of many)."""
    out: list[Part] = []
    for p in parts:
        if out and p.sealed is None and out[-1].sealed is None:
            out[-1] = replace(out[-1], until=p.until)
        else:
            out.append(p)
    return out


def _floor(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _ceil(ts: datetime) -> datetime:
    floor = _floor(ts)
    return floor if floor == ts else floor + MINUTE
