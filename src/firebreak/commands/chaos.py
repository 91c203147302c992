"""`firebreak chaos run`: fault scenarios against the reference world, with a scorecard."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from firebreak.commands.common import console, err_console


def _record(data: dict[str, Any], started: datetime) -> None:
    """Store the scorecard where `firebreak serve` on the same settings reads it."""
    from firebreak.chaos.record import record_scorecard
    from firebreak.commands.common import database

    db = database()
    try:
        saved = record_scorecard(db, data, started, recorded_by="cli:chaos")
    finally:
        db.dispose()
    if saved is None:
        err_console.print("[yellow]warning:[/yellow] the scorecard was not recorded (see log)")
    else:
        err_console.print(f"recorded as chaos run {saved.id} (dashboard: /ui/chaos)",
                          highlight=False)


def register(app: typer.Typer) -> None:
    chaos = typer.Typer(help="Chaos scenarios against the reference world.", no_args_is_help=True)
    app.add_typer(chaos, name="chaos")

    @chaos.command("ls")
    def ls() -> None:
        """List the scenarios."""
        from rich.table import Table

        from firebreak.chaos.scenarios import SCENARIOS

        table = Table("scenario", "fault", "expected category", "expected containment")
        for s in SCENARIOS.values():
            table.add_row(s.name, s.title, s.category, ", ".join(s.containment))
        console.print(table)

    @chaos.command("run")
    def run(
        scenario: list[str] = typer.Argument(None, help="scenario names (see `chaos ls`)"),
        all_: bool = typer.Option(False, "--all", help="run every scenario"),
        profile: str = typer.Option("fast", help="fast (CI, minutes) or full (benchmark)"),
        as_json: bool = typer.Option(False, "--json", help="print the scorecard as JSON"),
        out: Path = typer.Option(None, help="also write the JSON scorecard here"),
        record: bool = typer.Option(False, "--record", help="also record the scorecard in the "
                                    "configured store (the dashboard's chaos page); the "
                                    "world's own store always has it"),
        clean_requests: int = typer.Option(
            None, "--clean-requests", min=0, help="clean traffic to answer before the first "
            "fault, where any incident is a false one (default: the profile's; full 100,000, "
            "fast 0)"),
    ) -> None:
        """Run scenarios with Firebreak in the loop and print the scorecard."""
        import asyncio

        from firebreak.chaos.render import live_progress, scorecard_table
        from firebreak.chaos.runner import run as run_all
        from firebreak.chaos.scenarios import SCENARIOS
        from firebreak.chaos.world import PROFILES

        names = list(SCENARIOS) if all_ else list(scenario or [])
        unknown = [n for n in names if n not in SCENARIOS]
        if not names or unknown or profile not in PROFILES:
            err_console.print(f"[red]error:[/red] scenario: unknown {unknown or 'none given'}; "
                              f"known: {', '.join(SCENARIOS)}; profiles: {', '.join(PROFILES)}")
            raise typer.Exit(2)
        started = datetime.now(UTC)
        with live_progress(names, quiet=as_json) as progress:
            card = asyncio.run(run_all(names, profile, progress, clean_requests=clean_requests))
        data = card.to_dict()
        if record:
            _record(data, started)
        if out:
            out.write_text(json.dumps(data, indent=2, default=str))
        if as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
        else:
            console.print(scorecard_table(card))
        raise typer.Exit(0 if card.passed else 1)
