"""`firebreak token`: create, list, rotate and revoke API tokens."""

from __future__ import annotations

from datetime import timedelta

import typer

from firebreak.commands.common import console, database


def register(app: typer.Typer) -> None:
    tok = typer.Typer(help="API tokens.", no_args_is_help=True)
    app.add_typer(tok, name="token")

    @tok.command("create")
    def create(
        scope: list[str] = typer.Option(..., "--scope", "-s",
                                        help="ingest, read, operate or admin (repeatable)"),
        name: str = typer.Option("cli", help="a name to recognise the token by"),
        ttl_days: float = typer.Option(None, "--ttl-days", help="expire after this many days"),
    ) -> None:
        """Create a token and print its secret once."""
        from firebreak.store.tokens import create_token

        ttl = timedelta(days=ttl_days) if ttl_days else None
        secret, info = create_token(database(), name=name, scopes=scope, ttl=ttl)
        console.print(f"token {info.id} ({', '.join(sorted(info.scopes))}); shown only once:",
                      style="dim", highlight=False)
        typer.echo(secret)

    @tok.command("ls")
    def ls() -> None:
        """List tokens (never their secrets)."""
        from rich.table import Table

        from firebreak.store.tokens import list_tokens

        table = Table("id", "name", "scopes", "created", "expires", "revoked")
        for t in list_tokens(database()):
            table.add_row(*(str(t[k]) for k in ("id", "name", "scopes", "created_at",
                                                 "expires_at", "revoked")))
        console.print(table)

    @tok.command("rotate")
    def rotate(
        token_id: int,
        grace_minutes: float = typer.Option(60, "--grace-minutes",
                                            help="the old token keeps working this long"),
        ttl_days: float = typer.Option(None, "--ttl-days", help="the new token expires then"),
    ) -> None:
        """Replace a token: print a new secret once; the old one expires after the grace."""
        from firebreak.store.rotation import rotate_token

        if grace_minutes < 0:
            raise typer.BadParameter("must not be negative", param_hint="--grace-minutes")
        ttl = timedelta(days=ttl_days) if ttl_days else None
        secret, info = rotate_token(database(), token_id, ttl=ttl,
                                    grace=timedelta(minutes=grace_minutes))
        console.print(f"token {info.id} replaces {token_id} (old one expires in "
                      f"{grace_minutes:g} min); shown only once:", style="dim", highlight=False)
        typer.echo(secret)

    @tok.command("revoke")
    def revoke(token_id: int) -> None:
        """Revoke a token by id."""
        from firebreak.store.tokens import revoke_token

        revoke_token(database(), token_id)
        console.print(f"token {token_id} revoked")
