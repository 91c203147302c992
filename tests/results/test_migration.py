"""The results migration matches the tables and undoes cleanly, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from firebreak.store import all_tables, open_database
from firebreak.store.migrate import alembic_config

TABLES = {"redteam_campaigns", "chaos_runs"}


def test_migration_matches_the_models_and_downgrades(db_url: str) -> None:
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), all_tables())
            assert set(inspect(conn).get_table_names()) >= TABLES
        assert not [d for d in diff if any(t in str(d) for t in TABLES)], diff
        command.downgrade(alembic_config(db_url), "0013_results@0002_incidents")
        with db.engine.connect() as conn:
            assert not TABLES & set(inspect(conn).get_table_names())
        command.upgrade(alembic_config(db_url), "heads")
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= TABLES
    finally:
        db.dispose()


def test_records_round_trip_on_both_backends(db_url: str) -> None:
    from datetime import UTC, datetime

    from firebreak.store.results import (
        NewCampaign,
        NewChaosRun,
        get_campaign,
        get_chaos_run,
        list_campaigns,
        list_chaos_runs,
        record_campaign,
        record_chaos_run,
    )

    db = open_database(db_url)
    now = datetime.now(UTC)
    try:
        made = record_campaign(db, NewCampaign.model_validate({
            "suite": "s", "target": "t", "started_at": now,
            "per_category": {"direct-injection": {"attempts": 3, "successes": 1}},
            "probes": [{"id": "p", "attack": "direct-injection", "outcome": "success",
                        "scores": [{"scorer": "goal", "hit": True}]}]}), recorded_by="test")
        assert get_campaign(db, made.id) == made and list_campaigns(db)[0].id == made.id
        assert made.probes[0]["scores"][0]["hit"] is True
        run = record_chaos_run(db, NewChaosRun.model_validate({
            "profile": "fast", "started_at": now, "scenarios": [
                {"scenario": "pii-leak", "detected": True, "time_to_detect_s": 3.5,
                 "passed": True}]}), recorded_by="test")
        assert get_chaos_run(db, run.id) == run and list_chaos_runs(db)[0].passed is True
        assert run.started_at == now
    finally:
        db.dispose()
