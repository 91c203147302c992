"""Event repository: idempotent batch insert, filtered reads with cursors, deployments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from firebreak.events import Event, event_adapter
from firebreak.store.db import Database
from firebreak.store.models import DeploymentRow, EventRow


@dataclass(frozen=True)
class EventFilter:
    deployment: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    session_id: str | None = None


def _utc(ts: datetime) -> datetime:
    # The column holds UTC: SQLite stores wall-clock digits and would ignore an offset.
    if ts.tzinfo is not None and ts.utcoffset():
        return ts.astimezone(UTC)
    return ts


EVENTS_TABLE = cast(Table, EventRow.__table__)
COLUMNS = ("event_id", "ts", "received_at", "deployment", "kind", "model_version",
           "request_id", "user_id", "session_id", "api_key_id", "payload")


def _values(event: Event, now: Any, ts: Callable[[datetime], Any] = _utc) -> tuple[Any, ...]:
    """One row in COLUMNS order; `now` is the receive time (already converted if need be)
    and `ts` converts the event's time for the driver."""
    return (event.event_id, ts(event.ts), now, event.deployment, event.kind,
            event.model_version, getattr(event, "request_id", None),
            getattr(event, "user_id", None), getattr(event, "session_id", None),
            getattr(event, "api_key_id", None), event.model_dump_json(exclude_none=True))


def _row(event: Event, now: datetime) -> dict[str, Any]:
    return dict(zip(COLUMNS, _values(event, now), strict=True))


def _insert_ignoring_duplicates(db: Database) -> Any:
    dialect = sqlite if db.is_sqlite else postgresql
    # Core insert on the table (not the ORM entity): a plain executemany, much cheaper.
    return dialect.insert(EVENTS_TABLE).on_conflict_do_nothing(index_elements=["event_id"])


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text ('2026-01-01 10:00:00.000000'), in C not Python."""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_ts(ts: datetime) -> str:
    return _sqlite_datetime(_utc(ts))


@lru_cache(maxsize=1)
def _sqlite_statement() -> tuple[str, Any]:
    """(SQL with COLUMNS as positional parameters, datetime bind processor), compiled once."""
    dialect = sqlite.dialect()
    stmt = sqlite.insert(EVENTS_TABLE).values({k: bindparam(k) for k in COLUMNS})
    compiled = stmt.on_conflict_do_nothing(index_elements=["event_id"]).compile(dialect=dialect)
    assert tuple(compiled.positiontup or ()) == COLUMNS
    return str(compiled), _sqlite_datetime


def _sqlite_insert(session: Any, events: list[Event], now: datetime) -> None:
    """One DBAPI executemany, without SQLAlchemy's per-parameter work (the ingest hot path)."""
    sql, to_db = _sqlite_statement()
    received = to_db(now)
    rows = [_values(e, received, _sqlite_ts) for e in events]
    session.connection().exec_driver_sql(sql, rows)


def _already_stored(db: Database, session: Any, ids: list[str]) -> set[str]:
    if not db.is_sqlite:
        return set(session.scalars(select(EventRow.event_id).where(EventRow.event_id.in_(ids))))
    seen: set[str] = set()
    conn = session.connection()
    for i in range(0, len(ids), 5000):  # SQLite caps bound parameters per statement
        chunk = ids[i:i + 5000]
        sql = f"SELECT event_id FROM events WHERE event_id IN ({','.join('?' * len(chunk))})"
        seen.update(r[0] for r in conn.exec_driver_sql(sql, tuple(chunk)))
    return seen


def insert_events(db: Database, events: Sequence[Event]) -> list[Event]:
    """Store `events` in one transaction; returns those that were new (not seen before).

    The transaction commits before this returns, so a caller may acknowledge them.
    """
    if not events:
        return []
    now = datetime.now(UTC)
    ids = [e.event_id for e in events]
    with db.write() as session:
        seen = _already_stored(db, session, ids)
        fresh: dict[str, Event] = {}
        for e in events:
            if e.event_id not in seen and e.event_id not in fresh:
                fresh[e.event_id] = e
        if fresh and db.is_sqlite:
            _sqlite_insert(session, list(fresh.values()), now)
        elif fresh:
            session.execute(_insert_ignoring_duplicates(db), [_row(e, now) for e in fresh.values()])
        if fresh:
            _count_deployments(session, list(fresh.values()), now)
    return list(fresh.values())


def _count_deployments(session: Any, events: list[Event], now: datetime) -> None:
    per: dict[str, Counter[str]] = {}
    for (name, kind), n in Counter((e.deployment, e.kind) for e in events).items():
        per.setdefault(name, Counter())[kind] += n
    versions: dict[str, set[str]] = {}
    for name, version in {(e.deployment, e.model_version) for e in events if e.model_version}:
        versions.setdefault(name, set()).add(version)
    for name, counts in per.items():
        row = session.get(DeploymentRow, name, with_for_update=True)
        if row is None:
            row = DeploymentRow(name=name, first_seen=now, last_seen=now, event_count=0,
                                counts={}, model_versions=[], labels={})
            session.add(row)
        row.last_seen = now
        row.event_count = (row.event_count or 0) + sum(counts.values())
        merged = Counter(row.counts or {})
        merged.update(counts)
        row.counts = dict(merged)
        known = list(row.model_versions or [])
        for v in sorted(versions.get(name, ())):
            if v not in known:
                known.append(v)
        row.model_versions = known


def _filtered(f: EventFilter, q: Select[Any] | None = None) -> Select[Any]:
    q = select(EventRow) if q is None else q
    for column, value in (
        (EventRow.deployment, f.deployment), (EventRow.kind, f.kind),
        (EventRow.request_id, f.request_id), (EventRow.user_id, f.user_id),
        (EventRow.api_key_id, f.api_key_id), (EventRow.session_id, f.session_id),
    ):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(EventRow.ts >= f.since)
    if f.until is not None:
        q = q.where(EventRow.ts < f.until)
    return q


def query_events(
    db: Database, f: EventFilter, *, after: int | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """Events matching `f` in storage order; returns (events, next cursor or None)."""
    q = _filtered(f)
    if after is not None:
        q = q.where(EventRow.seq > after)
    q = q.order_by(EventRow.seq).limit(limit + 1)
    with db.session() as session:
        rows = list(session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    out = [orjson.loads(r.payload) for r in rows]
    return out, (rows[-1].seq if more and rows else None)


def load_events(db: Database, f: EventFilter, *, limit: int = 100_000) -> list[Event]:
    """Events matching `f` as validated models, oldest first (for detectors and forensics)."""
    q = _filtered(f, select(EventRow.payload)).order_by(EventRow.ts, EventRow.seq).limit(limit)
    with db.session() as session:
        payloads = list(session.scalars(q))
    return [event_adapter.validate_json(p) for p in payloads]


def count_events(db: Database, f: EventFilter | None = None) -> int:
    q = _filtered(f or EventFilter(), select(func.count()).select_from(EventRow))
    with db.session() as session:
        return int(session.scalar(q) or 0)


def list_deployments(db: Database) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.scalars(select(DeploymentRow).order_by(DeploymentRow.name))
        return [
            {"name": r.name, "first_seen": r.first_seen, "last_seen": r.last_seen,
             "event_count": r.event_count, "counts": r.counts,
             "model_versions": r.model_versions, "labels": r.labels}
            for r in rows
        ]
