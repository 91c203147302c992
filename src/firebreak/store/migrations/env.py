"""Alembic environment: every store module's tables share firebreak.store.models.Base."""

from __future__ import annotations

from alembic import context

from firebreak.store import all_tables
from firebreak.store.db import make_engine

target_metadata = all_tables()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=engine.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
