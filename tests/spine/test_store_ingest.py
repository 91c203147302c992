"""The ingest pipeline on SQLite and PostgreSQL: idempotency, redaction, reads, deployments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from firebreak.config import Settings
from firebreak.events import LLMCall, Prediction
from firebreak.ingest.service import Ingestor
from firebreak.store import Database
from firebreak.store.events import EventFilter, count_events, list_deployments, query_events
from spine.conftest import llm_calls


def _ingestor(**redaction: object) -> Ingestor:
    return Ingestor(Settings(redaction=redaction))  # type: ignore[arg-type]


def test_partial_batch_then_resend_on_both_backends(db: Database) -> None:
    items: list[object] = llm_calls(99)
    items.insert(10, {"kind": "llm.call", "deployment": "support-bot", "input_tokens": -5})
    first = _ingestor().ingest(db, items)
    assert (first.accepted, first.duplicates) == (99, 0)
    assert [(r.index, r.field) for r in first.refused] == [(10, "input_tokens")]
    assert all(isinstance(e, LLMCall) for e in first.new_events)
    again = _ingestor().ingest(db, items)
    assert (again.accepted, again.duplicates, again.new_events) == (0, 99, [])
    assert count_events(db) == 99


def test_mixed_kinds_counts_and_versions(db: Database) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    items = [
        {"kind": "prediction", "deployment": "credit-risk", "model_version": "v1",
         "features": {"x": 1.0}, "output": 1, "ts": (t0 + timedelta(minutes=i)).isoformat()}
        for i in range(5)
    ] + [{"kind": "label", "deployment": "credit-risk", "prediction_id": "p1", "label": 0,
          "model_version": "v2"}]
    assert _ingestor().ingest(db, items).accepted == 6
    (dep,) = list_deployments(db)
    assert dep["counts"] == {"prediction": 5, "label": 1} and dep["model_versions"] == ["v1", "v2"]
    window = EventFilter(kind="prediction", since=t0 + timedelta(minutes=1),
                         until=t0 + timedelta(minutes=3))
    page, cursor = query_events(db, window)
    assert len(page) == 2 and cursor is None
    assert isinstance(_ingestor().validate(items[:1])[0][0], Prediction)


def test_hashed_ids_are_stable_and_filterable(db: Database) -> None:
    ingestor = _ingestor()
    ingestor.ingest(db, llm_calls(6))
    hashed = ingestor.redactor.hash_id("u1")
    assert hashed is not None and hashed.startswith("anon_")
    page, _ = query_events(db, EventFilter(user_id=hashed))
    assert [e["event_id"] for e in page] == ["e1", "e4"]
    assert query_events(db, EventFilter(user_id="u1"))[0] == []  # raw ids are never stored


def test_redaction_off_keeps_raw_ids(db: Database) -> None:
    _ingestor(enabled=False).ingest(db, llm_calls(3))
    assert len(query_events(db, EventFilter(user_id="u1"))[0]) == 1


def test_offsets_are_stored_as_utc(db: Database) -> None:
    items = [{"kind": "metric", "deployment": "credit-risk", "name": "auc", "value": 0.9,
              "event_id": "m1", "ts": "2026-03-01T12:00:00+02:00"},
             {"kind": "metric", "deployment": "credit-risk", "name": "auc", "value": 0.8,
              "event_id": "m2", "ts": "2026-03-01T11:00:00Z"}]
    assert _ingestor().ingest(db, items).accepted == 2
    ten = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    page, _ = query_events(db, EventFilter(since=ten, until=ten + timedelta(minutes=30)))
    assert [e["event_id"] for e in page] == ["m1"]  # 12:00+02:00 is 10:00 UTC


def test_sqlite_fast_path_writes_what_sqlalchemy_would() -> None:
    from sqlalchemy.dialects import sqlite

    from firebreak.store.events import _sqlite_datetime
    from firebreak.store.models import EventRow

    dialect = sqlite.dialect()
    reference = EventRow.__table__.c.ts.type.dialect_impl(dialect).bind_processor(dialect)
    for value in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 25, 20, 1, 52, 935276),
                  datetime(33, 1, 2, 3, 4, 5, 6)):
        assert _sqlite_datetime(value) == reference(value)


def test_versions_in_a_window_are_read_from_the_index_alone(db_url: str) -> None:
    """A snapshot's model-versions query is answered by (deployment, ts, model_version)
    without a table page per row; the migration adds it and undoes cleanly."""
    from alembic import command
    from sqlalchemy import event, inspect, text

    from firebreak.store import open_database
    from firebreak.store.events import model_versions
    from firebreak.store.migrate import alembic_config

    db = open_database(db_url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        _ingestor().ingest(db, [
            {"kind": "prediction", "deployment": "credit-risk", "model_version": f"v{i // 3}",
             "features": {"x": 1.0}, "output": 1, "ts": (t0 + timedelta(minutes=i)).isoformat()}
            for i in range(9)])
        window = EventFilter(deployment="credit-risk", since=t0 + timedelta(minutes=1),
                             until=t0 + timedelta(minutes=7))
        asked: list[tuple[str, object]] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, sql, params, *_: asked.append((sql, params)))
        versions = model_versions(db, window)
        assert {v: d["count"] for v, d in versions.items()} == {"v0": 2, "v1": 3, "v2": 1}
        assert versions["v1"]["first_seen"].replace(tzinfo=None) == datetime(2026, 3, 1, 0, 3)
        if db.is_sqlite:
            sql, params = asked[-1]
            with db.engine.connect() as conn:
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql}", params))
            assert "COVERING INDEX ix_events_deployment_ts_version" in plan, plan

        def indexes() -> set[str]:
            with db.engine.connect() as conn:
                return {i["name"] for i in inspect(conn).get_indexes("events")}

        assert {"ix_events_deployment_ts_version"} <= indexes() - {"ix_events_deployment_ts"}
        command.downgrade(alembic_config(db_url), "0014_events_version_index@0001_core")
        assert "ix_events_deployment_ts" in indexes()
        command.upgrade(alembic_config(db_url), "heads")
        assert "ix_events_deployment_ts_version" in indexes()
        assert "ix_events_deployment_ts" not in indexes()
        with db.engine.connect() as conn:  # the rows are untouched
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 9
    finally:
        db.dispose()
