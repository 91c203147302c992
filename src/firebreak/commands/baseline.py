"""`firebreak baseline set / pin / show`: the reference a deployment is compared with."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from firebreak.commands.common import console, database


def register(app: typer.Typer) -> None:
    base = typer.Typer(help="References (baselines) for drift detection.", no_args_is_help=True)
    app.add_typer(base, name="baseline")

    @base.command("set")
    def set_(
        deployment: str = typer.Argument(..., help="deployment name"),
        path: Path = typer.Argument(..., help="reference data: .csv, .parquet or .jsonl"),
        prediction: str = typer.Option(None, help="model output column, if present"),
        target: str = typer.Option(None, help="label column, if present"),
        score: str = typer.Option(None, help="model score column, if present"),
    ) -> None:
        """Profile a reference data file and make it the deployment's baseline."""
        from firebreak.monitor.reference import read_table, reference_from_frame, window_rows
        from firebreak.store.monitor import set_baseline

        window = reference_from_frame(deployment, read_table(path), prediction=prediction,
                                      target=target, score=score)
        info = set_baseline(database(), deployment=deployment, source="file", detail=path.name,
                            rows=window_rows(window), body=window.to_bytes())
        console.print(f"baseline of {deployment}: {info.rows} rows from {path.name}")

    @base.command("pin")
    def pin(
        deployment: str = typer.Argument(..., help="deployment name"),
        at: datetime = typer.Option(None, "--at", help="a time inside the window to pin "
                                    "(UTC; default: the latest stored window)"),
    ) -> None:
        """Make a past window the deployment's baseline."""
        from firebreak.errors import NotFound
        from firebreak.monitor.reference import window_rows
        from firebreak.monitor.window import Window
        from firebreak.store.monitor import recent_windows, set_baseline, window_at

        db = database()
        if at is None:
            bodies = recent_windows(db, deployment, limit=1)
            if not bodies:
                raise NotFound(f"no stored window of {deployment!r}", deployment=deployment)
            body = bodies[0]
        else:
            body = window_at(db, deployment, at if at.tzinfo else at.replace(tzinfo=UTC))
        window = Window.from_bytes(body)
        info = set_baseline(db, deployment=deployment, source="pinned",
                            detail=f"window {window.start.isoformat()}",
                            rows=window_rows(window), body=body)
        console.print(f"baseline of {deployment}: pinned window {window.start.isoformat()} "
                      f"({info.rows} events)")

    @base.command("show")
    def show(deployment: str = typer.Argument(None, help="one deployment (default: all)"),
             as_json: bool = typer.Option(False, "--json")) -> None:
        """Show where each deployment's baseline came from."""
        import orjson

        from firebreak.errors import NotFound
        from firebreak.monitor.reference import describe
        from firebreak.monitor.window import Window
        from firebreak.store.monitor import get_baseline, list_baselines

        db = database()
        if deployment is None:
            rows = [b.to_dict() for b in list_baselines(db)]
        else:
            found = get_baseline(db, deployment)
            if found is None:
                raise NotFound(f"no baseline for {deployment!r}", deployment=deployment)
            rows = [{**found[0].to_dict(), **describe(Window.from_bytes(found[1]))}]
        if as_json:
            typer.echo(orjson.dumps(rows).decode())
            return
        for row in rows:
            console.print(", ".join(f"{k}={v}" for k, v in row.items()), highlight=False)
