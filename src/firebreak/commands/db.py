"""`firebreak db`: schema migrations."""

from __future__ import annotations

import typer

from firebreak.commands.common import console, settings


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command("upgrade")
    def upgrade(revision: str = typer.Argument("heads", help="target revision")) -> None:
        """Apply migrations up to REVISION (all heads by default)."""
        from firebreak.store.migrate import current
        from firebreak.store.migrate import upgrade as do_upgrade

        url = settings().database_url
        do_upgrade(url, revision)
        console.print(f"database at [bold]{_safe(url)}[/bold] is at {', '.join(current(url))}")

    @db.command("current")
    def current_cmd() -> None:
        """Show the revisions the database is at."""
        from firebreak.store.migrate import current

        console.print(", ".join(current(settings().database_url)) or "(empty)")


def _safe(url: str) -> str:
    """The URL without a password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
