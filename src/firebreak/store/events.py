"""Event repository: idempotent batch insert, filtered reads with cursors, deployments."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any, cast

import orjson
from sqlalchemy import LargeBinary, Select, Table, func, literal, select
from sqlalchemy import cast as sql_cast
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
    and `ts` converts the event's time for the driver.

    Read from the model's __dict__ (a kind without request_id, say, has no such key) and
    serialised by its pydantic-core serializer directly: what `model_dump_json(exclude_none=
    True)` returns, without its keyword plumbing (a third of its cost per event)."""
    f = event.__dict__
    return (f["event_id"], ts(f["ts"]), now, f["deployment"], f["kind"], f["model_version"],
            f.get("request_id"), f.get("user_id"), f.get("session_id"), f.get("api_key_id"),
            event.__pydantic_serializer__.to_json(event, exclude_none=True).decode())


def _row(event: Event, now: datetime) -> dict[str, Any]:
    return dict(zip(COLUMNS, _values(event, now), strict=True))


def _insert_ignoring_duplicates(db: Database) -> Any:
    dialect = sqlite if db.is_sqlite else postgresql
    # Core insert on the table (not the ORM entity): a plain executemany, much cheaper.
    return dialect.insert(EVENTS_TABLE).on_conflict_do_nothing(index_elements=["event_id"])


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text ('2026-01-01 10:00:00.000000'), in C not Python:
    the wall-clock digits, any offset dropped (they are the first 26 characters)."""
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_ts(ts: datetime) -> str:
    """`_sqlite_datetime(_utc(ts))` with one call fewer per event (the ingest hot path)."""
    if ts.utcoffset():  # None (naive) or zero: the digits are UTC already
        ts = ts.astimezone(UTC)
    return ts.isoformat(" ", "microseconds")[:26]


# Rows per INSERT statement on SQLite. The sqlite3 module lets go of the GIL for each
# sqlite3_step, and the writer, which holds the write lock, has to win the GIL back each
# time from the request threads validating other batches (a wait of up to the 5 ms switch
# interval, longer while pydantic-core validates a whole body in one call). An executemany
# steps once per row; one multi-row INSERT stores _CHUNK rows in one step, and the rest of
# a group goes in one more statement of its exact size. Preparing a statement costs about
# 2.4 µs per row, so sizes are cached (sqlite3 keeps 128 statements per connection;
# batches of one client mostly have one size). OR IGNORE, not ON CONFLICT DO NOTHING: a
# multi-row statement that may abort half-way (a NOT NULL column) makes SQLite copy every
# page it touches into a statement journal, a temporary file, which doubled the bytes
# written per event. The rows were deduplicated just before, under the write lock, so each
# statement must insert all its rows; one that did not (a row ignored) raises and the
# transaction rolls back.
_CHUNK = 500


@lru_cache(maxsize=64)
def _sqlite_multi_insert(rows: int) -> str:
    one = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    return (f"INSERT OR IGNORE INTO {EVENTS_TABLE.name} ({', '.join(COLUMNS)}) VALUES "
            + ", ".join([one] * rows))


def _chunk_sizes(n: int, chunk: int = _CHUNK) -> list[int]:
    """`n` split into statement sizes: as many `chunk`s as fit, then the rest."""
    return [chunk] * (n // chunk) + ([n % chunk] if n % chunk else [])


def prepare_rows(db: Database, events: Sequence[Event], now: datetime | None = None
                 ) -> list[tuple[Any, ...]] | None:
    """The SQLite rows of `events` in COLUMNS order (payload JSON included), or None on
    PostgreSQL. Ingest builds them before it waits for the writer, so this Python work runs
    while another group's inserts and fsync are under way; `now` is the receive time."""
    if not db.is_sqlite:
        return None
    received = _sqlite_datetime(now or datetime.now(UTC))
    return [_values(e, received, _sqlite_ts) for e in events]


def _sqlite_insert(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    """New `rows` in a few multi-row INSERTs (see _CHUNK): few GIL round trips per batch."""
    start = 0
    for size in _chunk_sizes(len(rows)):
        part = rows[start:start + size]
        start += size
        done = conn.exec_driver_sql(_sqlite_multi_insert(size), tuple(chain.from_iterable(part)))
        if done.rowcount != size:
            raise RuntimeError(f"events: {size - done.rowcount} of {size} rows were not "
                               "stored (a duplicate event_id or a missing value); rolled back")


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


def insert_events(db: Database, events: Sequence[Event],
                  rows: Sequence[tuple[Any, ...]] | None = None) -> list[Event]:
    """Store `events` in one transaction; returns those that were new (not seen before).

    `rows`, from `prepare_rows(db, events)`, saves building them here. The transaction
    commits before this returns, so a caller may acknowledge them.
    """
    if not events:
        return []
    now = datetime.now(UTC)
    if db.is_sqlite and rows is None:
        rows = prepare_rows(db, events, now)
    ids = [e.event_id for e in events]
    with db.write() as session:
        seen = _already_stored(db, session, ids)
        fresh: dict[str, int] = {}  # event_id -> index of its first occurrence
        for i, event_id in enumerate(ids):
            if event_id not in seen and event_id not in fresh:
                fresh[event_id] = i
        new = [events[i] for i in fresh.values()]
        if new and rows is not None:
            conn = session.connection()
            _sqlite_insert(conn, [rows[i] for i in fresh.values()])
            _sqlite_count_deployments(conn, new, now)
        elif new:
            session.execute(_insert_ignoring_duplicates(db), [_row(e, now) for e in new])
            _count_deployments(session, new, now)
    return new


def _tallies(events: list[Event]) -> tuple[dict[str, Counter[str]], dict[str, set[str]]]:
    """Per deployment: events per kind, and the model versions seen."""
    per: dict[str, Counter[str]] = {}
    for (name, kind), n in Counter((e.deployment, e.kind) for e in events).items():
        per.setdefault(name, Counter())[kind] += n
    versions: dict[str, set[str]] = {}
    for name, version in {(e.deployment, e.model_version) for e in events if e.model_version}:
        versions.setdefault(name, set()).add(version)
    return per, versions


def _merged(counts: Any, known: Any, add: Counter[str], versions: set[str]
            ) -> tuple[dict[str, int], list[str]]:
    merged = Counter(counts or {})
    merged.update(add)
    out = list(known or [])
    out += [v for v in sorted(versions) if v not in out]
    return dict(merged), out


def _count_deployments(session: Any, events: list[Event], now: datetime) -> None:
    per, versions = _tallies(events)
    for name, counts in per.items():
        row = session.get(DeploymentRow, name, with_for_update=True)
        if row is None:
            row = DeploymentRow(name=name, first_seen=now, last_seen=now, event_count=0,
                                counts={}, model_versions=[], labels={})
            session.add(row)
        row.last_seen = now
        row.event_count = (row.event_count or 0) + sum(counts.values())
        row.counts, row.model_versions = _merged(row.counts, row.model_versions, counts,
                                                 versions.get(name, set()))


def _sqlite_count_deployments(conn: Any, events: list[Event], now: datetime) -> None:
    """`_count_deployments` in two statements, without the ORM (the SQLite ingest path).

    The current rows come back as one JSON array in one row: each row fetched is one more
    sqlite3_step, and so one more wait for the GIL (see _CHUNK). JSON columns are written
    as SQLAlchemy's JSON type writes them (`json.dumps`)."""
    per, versions = _tallies(events)
    names = tuple(per)
    (found_json,) = conn.exec_driver_sql(
        "SELECT json_group_array(json_array(name, event_count, json(counts), "
        "json(model_versions))) FROM deployments WHERE name IN "
        f"({','.join('?' * len(names))})", names).one()
    found = {r[0]: r[1:] for r in json.loads(found_json)}
    stamp = _sqlite_datetime(now)
    params: list[Any] = []
    for name, counts in per.items():
        count, old_counts, old_versions = found.get(name, (0, None, None))
        merged, known = _merged(old_counts, old_versions, counts, versions.get(name, set()))
        params += (name, stamp, stamp, (count or 0) + sum(counts.values()),
                   json.dumps(merged), json.dumps(known), "{}")
    conn.exec_driver_sql(
        "INSERT INTO deployments (name, first_seen, last_seen, event_count, counts, "
        "model_versions, labels) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(per))
        + " ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, event_count = "
        "excluded.event_count, counts = excluded.counts, model_versions = "
        "excluded.model_versions", tuple(params))


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


def deployment_kinds(db: Database, deployment: str) -> list[str]:
    """The kinds of event a deployment has sent (kept by every insert, so no scan)."""
    with db.session() as session:
        row = session.get(DeploymentRow, deployment)
        return sorted((row.counts or {}) if row is not None else {})


def joined_payloads(db: Database, f: EventFilter, *,
                    target: int = 4 << 20) -> Iterator[tuple[int, bytes]]:
    """(count, b"payload,payload,...") of the events matching `f`, oldest first, one time
    slice at a time, each joined by the database. `f` needs `since` and `until`.

    Evidence copies 100,000+ payloads. Joined in one piece they pass ~5x their size through
    fresh buffers, and on a VM whose host backs memory lazily first-touching those cost more
    than the copy (15 minutes of chaos-world chat, 131 MB: 2.3-2.6 s beside another capture).
    Fetched row by row, each row hands the GIL back, and a snapshot in the control plane's
    process beside a busy thread took 150 s instead of 3. Slices of about `target` bytes
    keep both small: the span doubles while slices come out small, halves when one is large.
    """
    if f.since is None or f.until is None:
        raise ValueError("joined_payloads needs a window (since and until)")
    start, span = f.since, timedelta(seconds=10)
    while start < f.until:
        end = min(start + span, f.until)
        count, data = _joined(db, replace(f, since=start, until=end))
        if count:
            yield count, data
        elif end < f.until:  # skip the empty stretch (a week before a window, the future)
            found = _first_ts(db, replace(f, since=end))
            if found is None:
                return
            end = max(end, found if found.tzinfo else found.replace(tzinfo=end.tzinfo))
        if len(data) < target // 2:
            span *= 2
        elif len(data) > target * 2:
            span = max(span / 2, timedelta(milliseconds=100))
        start = end


def _first_ts(db: Database, f: EventFilter) -> datetime | None:
    with db.session() as session:
        return session.scalar(_filtered(f, select(func.min(EventRow.ts))))


def _joined(db: Database, f: EventFilter) -> tuple[int, bytes]:
    """The payloads matching `f` joined with commas by the database, as bytes (a text result
    would be decoded and encoded again), in one row: each row fetched hands the GIL back."""
    order = (EventRow.ts, EventRow.seq)
    if db.is_sqlite:  # SQLite keeps a subquery's ORDER BY when an aggregate reads it
        inner = _filtered(f, select(EventRow.payload)).order_by(*order).subquery()
        joined = func.coalesce(func.group_concat(inner.c.payload, ","), "")
        q = select(func.count(), sql_cast(joined, LargeBinary))
    else:
        joined = func.coalesce(func.string_agg(
            EventRow.payload, postgresql.aggregate_order_by(literal(","), *order)), "")
        q = _filtered(f, select(func.count(), func.convert_to(joined, "UTF8")))
    with db.session() as session:
        count, data = session.execute(q).one()
    return int(count), bytes(data)


def first_event_ids(db: Database, f: EventFilter, n: int) -> list[str]:
    """The ids of the first `n` events matching `f`, oldest first, as one row."""
    first = _filtered(f, select(EventRow.event_id)).order_by(EventRow.ts, EventRow.seq).limit(n)
    ids = first.subquery().c.event_id
    agg = func.json_group_array(ids) if db.is_sqlite else func.json_agg(ids)
    with db.session() as session:
        out = session.scalar(select(agg))
    return list(orjson.loads(out) if isinstance(out, str) else out or [])


def first_payloads(db: Database, f: EventFilter, versions: Sequence[str]) -> dict[str, str]:
    """model version -> payload of its first event among those matching `f`."""
    out: dict[str, str] = {}
    with db.session() as session:
        for version in versions:
            out[version] = session.scalars(
                _filtered(f, select(EventRow.payload)).where(EventRow.model_version == version)
                .order_by(EventRow.ts, EventRow.seq).limit(1)).one()
    return out


def model_versions(db: Database, f: EventFilter) -> dict[str, dict[str, Any]]:
    """version -> first_seen, last_seen and count of the events matching `f`."""
    q = _filtered(f, select(EventRow.model_version, func.min(EventRow.ts), func.max(EventRow.ts),
                            func.count())).where(EventRow.model_version.is_not(None))
    with db.session() as session:
        rows = session.execute(q.group_by(EventRow.model_version)).tuples()
        return {v: {"first_seen": _utc(lo), "last_seen": _utc(hi), "count": n}
                for v, lo, hi, n in rows}


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
