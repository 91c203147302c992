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
