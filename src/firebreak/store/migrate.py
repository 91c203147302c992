"""Alembic migrations, run programmatically on start and by `firebreak db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the schema at `url` to `revision` (every branch head by default)."""
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> list[str]:
    """The revisions the database at `url` is at."""
    from alembic.runtime.migration import MigrationContext

    from firebreak.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
