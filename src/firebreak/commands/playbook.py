"""`firebreak playbook`: validate, test against a fixture, approve or deny, list runs."""

from __future__ import annotations

from pathlib import Path

import typer

from firebreak.commands.common import console, database, err_console


def register(app: typer.Typer) -> None:
    pb = typer.Typer(help="Playbooks and their runs.", no_args_is_help=True)
    app.add_typer(pb, name="playbook")

    @pb.command("validate")
    def validate(folder: Path = typer.Argument(..., help="folder of playbook YAML")) -> None:
        """Check every playbook in FOLDER; print file:line: field: reason for each error."""
        from firebreak.playbooks.loader import load_dir

        found, errors = load_dir(folder)
        for error in errors:
            err_console.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        if errors:
            raise typer.Exit(2)
        console.print(f"{len(found)} playbooks valid: {', '.join(p.name for p in found)}")

    @pb.command("test")
    def test(playbook: Path = typer.Argument(..., help="playbook YAML file"),
             incident: Path = typer.Option(..., "--incident", help="incident fixture (JSON)"),
             deployment: Path = typer.Option(None, "--deployment",
                                             help="deployment fixture (JSON)")) -> None:
        """Show the steps PLAYBOOK would run for the incident, with rendered parameters."""
        from firebreak.playbooks.preview import preview_files

        for line in preview_files(playbook, incident, deployment):
            console.print(line, highlight=False, soft_wrap=True)

    def _decide(run_id: str, step_id: str, approve: bool, actor: str) -> None:
        from firebreak.playbooks.service import decide

        step = decide(database(), run_id, step_id, approve=approve, actor=actor)
        console.print(f"step {step.step_key} of {step.run_id}: {step.status}")

    @pb.command("approve")
    def approve(run_id: str, step_id: str,
                actor: str = typer.Option("cli", help="who approves")) -> None:
        """Approve a waiting approval step."""
        _decide(run_id, step_id, True, actor)

    @pb.command("deny")
    def deny(run_id: str, step_id: str,
             actor: str = typer.Option("cli", help="who denies")) -> None:
        """Deny a waiting approval step."""
        _decide(run_id, step_id, False, actor)

    @pb.command("runs")
    def runs(incident: str = typer.Option(None, "--incident", help="only this incident"),
             run_id: str = typer.Option(None, "--run", help="show one run's steps")) -> None:
        """List runs, or the steps of one run."""
        from rich.table import Table

        from firebreak.playbooks.service import run_detail
        from firebreak.store.playbooks import list_runs

        db = database()
        if run_id:
            detail = run_detail(db, run_id)
            table = Table("step", "action", "status", "attempt", "error")
            for s in detail["steps"]:
                table.add_row(s["step_key"], s["action"] or "", s["status"], str(s["attempt"]),
                              s["error"][:80])
        else:
            table = Table("run", "incident", "playbook", "status", "dry run", "created")
            for r in list_runs(db, incident_id=incident):
                table.add_row(r.id, r.incident_id, r.playbook, r.status, str(r.dry_run),
                              r.created_at.isoformat(timespec="seconds"))
        console.print(table)
