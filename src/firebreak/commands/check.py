"""`firebreak check --reference ref.csv --current cur.csv`: a one-off drift report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from firebreak.commands.common import console

if TYPE_CHECKING:
    from firebreak.detect.check import CheckReport


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        reference: Path = typer.Option(..., "--reference", "-r",
                                       help="reference data (.csv, .parquet, .jsonl)"),
        current: Path = typer.Option(..., "--current", "-c", help="current data, same format"),
        target: str = typer.Option(None, "--target", help="label column (performance)"),
        prediction: str = typer.Option(None, "--prediction", help="model output column"),
        alpha: float = typer.Option(0.01, help="false discovery rate across columns"),
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    ) -> None:
        """Compare two data files column by column; exit 1 when something drifted."""
        from firebreak.detect.check import check as run_check
        from firebreak.monitor.reference import read_table

        if (target is None) != (prediction is None):
            from firebreak.errors import ValidationFailed

            raise ValidationFailed("--target/--prediction", "give both or neither")
        report = run_check(read_table(reference, "--reference"), read_table(current, "--current"),
                           target=target, prediction=prediction, alpha=alpha)
        if as_json:
            typer.echo(report.to_json())
        else:
            _print(report)
        raise typer.Exit(1 if report.drifted else 0)


def _print(report: CheckReport) -> None:
    from rich.table import Table

    table = Table("column", "kind", "test", "statistic", "p-value", "distance", "missing",
                  "verdict", title=f"{report.reference_rows} reference rows vs "
                  f"{report.current_rows} current rows")
    for name, col in report.columns.items():
        verdict = ("[red]drift[/red]" if col.drift else
                   "[red]missing spike[/red]" if col.missing_spike else "[green]ok[/green]")
        table.add_row(name, col.kind, col.test, f"{col.statistic:.4g}", f"{col.p_value:.3g}",
                      f"{col.distance:.4g}", f"{col.missing_ref:.1%} → {col.missing_cur:.1%}",
                      verdict)
    console.print(table)
    for side, perf in report.performance.items():
        numbers = {k: v for k, v in perf.to_dict().items() if v is not None}
        console.print(f"{side}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float)
                                               else f"{k}={v}" for k, v in numbers.items()))
    drifted = report.drifted
    console.print(f"{len(drifted)} of {len(report.columns)} columns changed"
                  + (f": {', '.join(drifted)}" if drifted else ""))
