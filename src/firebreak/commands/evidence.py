"""`firebreak evidence`: list an incident's evidence and verify the chain."""

from __future__ import annotations

import typer

from firebreak.commands.common import console, database, err_console, settings


def register(app: typer.Typer) -> None:
    ev = typer.Typer(
        help="Evidence: captured artifacts in a signed hash chain.", no_args_is_help=True
    )
    app.add_typer(ev, name="evidence")

    @ev.command("verify")
    def verify_cmd(
        incident: str = typer.Argument(None, help="an incident id; all when omitted"),
    ) -> None:
        """Check every blob, the hash chain and the signed manifests; exit 1 on any problem."""
        from firebreak.forensics.verify import verify
        from firebreak.store.incidents import get_incident

        db = database()
        if incident:
            get_incident(db, incident)
        result = verify(db, settings(), incident)
        if result.ok:
            console.print(
                f"[green]ok[/green]: {result.records} records, {result.blobs} blobs, "
                f"{result.manifests} signed manifests verified"
            )
            return
        for p in result.problems:
            err_console.print(f"[red]{p.kind}[/red]: {p.message}", highlight=False)
        err_console.print(
            f"[red]evidence verification failed[/red]: {len(result.problems)} problem(s)"
        )
        raise typer.Exit(1)

    @ev.command("ls")
    def ls(incident: str = typer.Argument(..., help="an incident id")) -> None:
        """List an incident's evidence records in chain order."""
        from rich.table import Table

        from firebreak.forensics.evidence import list_evidence
        from firebreak.store.incidents import get_incident

        db = database()
        get_incident(db, incident)
        table = Table("id", "captured", "kind", "what", "sha256", "bytes")
        for r in list_evidence(db, incident):
            table.add_row(
                r["id"], r["ts"][:19], r["kind"], r["label"], r["blob_sha256"][:16], str(r["size"])
            )
        console.print(table)
