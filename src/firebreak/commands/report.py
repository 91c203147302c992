"""`firebreak report INCIDENT`: write the forensic report and print where it went."""

from __future__ import annotations

import typer

from firebreak.commands.common import database, settings


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        incident: str = typer.Argument(..., help="an incident id"),
        fmt: list[str] = typer.Option(
            ["md"], "--format", "-f", help="md, html or json (repeatable)"
        ),
        stdout: bool = typer.Option(False, "--stdout", help="print the report instead of a path"),
    ) -> None:
        """Write the incident's forensic report (snapshotting evidence first if none exists)."""
        from pathlib import Path

        from firebreak.forensics.service import check_formats, write_report

        formats = check_formats(fmt)
        paths = write_report(database(), incident_id=incident, formats=formats, settings=settings())
        from firebreak import metrics

        metrics.forensics_reports.labels(trigger="cli").inc()
        for f, path in paths.items():
            if stdout:
                typer.echo(Path(path).read_text(encoding="utf-8"))
            else:
                typer.echo(f"{f}: {path}")
