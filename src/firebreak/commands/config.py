"""`firebreak config`: the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer

from firebreak.commands.common import console, settings


def register(app: typer.Typer) -> None:
    cfg = typer.Typer(help="Settings.", no_args_is_help=True)
    app.add_typer(cfg, name="config")

    @cfg.command("show")
    def show(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
        """Print the effective settings (env, firebreak.yaml, defaults) with secrets masked."""
        from firebreak.config import masked

        data = masked(settings())
        if as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
            return
        from rich.table import Table

        table = Table("setting", "value", title="Effective settings")
        for key, value in _flat(data):
            table.add_row(key, str(value))
        console.print(table)


def _flat(data: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            rows.extend(_flat(value, f"{prefix}{key}."))
        else:
            rows.append((prefix + key, value))
    return rows
