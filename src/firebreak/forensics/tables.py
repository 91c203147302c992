"""Read other stages' tables (signals, alerts, notifications, monitor profiles) if they exist.

Forensics sits above those stages but must not break while they are still being built:
tables are found by name and read generically, and a missing table is simply empty.
"""

from __future__ import annotations

import base64
import weakref
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from firebreak.store.db import Database

TS_COLUMNS = (
    "ts",
    "created_at",
    "starts_at",
    "started_at",
    "window_end",
    "opened_at",
    "sent_at",
    "outcome_at",
    "intent_at",
    "updated_at",
)


# Byte columns the monitors fill with their own JSON: kept as JSON in evidence (readable,
# and a drift snapshot's hour of profiles, ~10 MB, skips base64 and its decode).
JSON_BYTES = {("monitor_profiles", "body"), ("monitor_baselines", "body")}


# Reflected tables per engine: reflecting costs a dozen PRAGMA queries per table, and a
# snapshot taken while containing an incident should not spend them every time.
_REFLECTED: weakref.WeakKeyDictionary[Engine, dict[str, Table]] = weakref.WeakKeyDictionary()


def _table(db: Database, name: str) -> Table:
    tables = _REFLECTED.setdefault(db.engine, {})
    if name not in tables:
        tables[name] = Table(name, MetaData(), autoload_with=db.engine)
    return tables[name]


def table_names(db: Database) -> list[str]:
    return list(inspect(db.engine).get_table_names())


def read_rows(
    db: Database,
    name_part: str,
    *,
    deployment: str | None = None,
    incident_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 2000,
    where: dict[str, list[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of every table whose name contains `name_part`, filtered where columns allow
    (`where` maps a column to allowed values; a table without that column is skipped)."""
    out: list[dict[str, Any]] = []
    for name in table_names(db):
        if name_part not in name or name.startswith(("evidence_", "alembic")):
            continue
        try:
            out.extend(_read(db, name, deployment, incident_id, since, until, limit, where or {}))
        except SQLAlchemyError:
            continue  # a table mid-migration or of an unexpected shape: skip, never fail
    return out


def _read(
    db: Database,
    name: str,
    deployment: str | None,
    incident_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    where: dict[str, list[Any]],
) -> list[dict[str, Any]]:
    table = _table(db, name)
    cols = table.c
    if any(c not in cols for c in where):
        return []
    q = select(table).limit(limit)
    for column, values in where.items():
        q = q.where(cols[column].in_(values))
    if deployment is not None and "deployment" in cols:
        q = q.where(cols["deployment"].in_([deployment, "*"]))
    if incident_id is not None and "incident_id" in cols:
        q = q.where(cols["incident_id"] == incident_id)
    ts_col = next((c for c in TS_COLUMNS if c in cols), None)
    if ts_col is not None:
        if since is not None:
            q = q.where(cols[ts_col] >= since)
        if until is not None:
            q = q.where(cols[ts_col] < until)
        q = q.order_by(cols[ts_col])
    with db.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [
        {
            "_table": name,
            "_ts": row.get(ts_col) if ts_col else None,
            **{k: _plain(v, (name, k) in JSON_BYTES) for k, v in row.items()},
        }
        for row in rows
    ]


def _plain(v: Any, json_bytes: bool = False) -> Any:
    if isinstance(v, bytes | bytearray | memoryview):
        if json_bytes:
            return orjson.Fragment(bytes(v))  # written as it is by orjson.dumps
        return {"base64": base64.b64encode(bytes(v)).decode()}
    return v
