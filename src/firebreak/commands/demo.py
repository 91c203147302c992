"""`firebreak demo`: the whole loop on the reference world (built by the chaos stage)."""

from __future__ import annotations

import typer

from firebreak.commands.common import err_console


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(once: bool = typer.Option(False, "--once", help="exit after one scenario")) -> None:
        """Run the reference world with one scenario handled end to end."""
        err_console.print("firebreak demo is not built yet: the reference world "
                          "(chaos stage) has not landed.")
        raise typer.Exit(3)
