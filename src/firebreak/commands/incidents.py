"""`firebreak incidents ls / show / ack / resolve`: the incident record from the terminal."""

from __future__ import annotations

import os

import typer

from firebreak.commands.common import console, database


def _actor(actor: str | None) -> str:
    return actor or f"cli:{os.environ.get('USER', 'unknown')}"


def register(app: typer.Typer) -> None:
    inc = typer.Typer(help="Incidents: list, show, acknowledge, resolve.", no_args_is_help=True)
    app.add_typer(inc, name="incidents")

    @inc.command("ls")
    def ls(
        status: str = typer.Option(None, help="detected, triaged, contained, resolved, ..."),
        deployment: str = typer.Option(None, help="only this deployment"),
        severity: str = typer.Option(None, help="SEV1..SEV4"),
        limit: int = typer.Option(50, min=1, max=1000),
    ) -> None:
        """List incidents, newest first."""
        from rich.table import Column, Table

        from firebreak.store.incidents import list_incidents

        table = Table(Column("id", no_wrap=True), "sev", "status", "deployment", "category",
                      "opened", "title")
        for i in list_incidents(database(), status=status, deployment=deployment,
                                severity=severity, limit=limit):
            table.add_row(i.id, i.severity, i.status, i.deployment, i.category,
                          i.opened_at.strftime("%Y-%m-%d %H:%M:%S"), i.title[:60])
        console.print(table)

    @inc.command("show")
    def show(incident_id: str) -> None:
        """Show one incident: taxonomy, roles, alerts and timeline."""
        from firebreak.incidents.views import detail

        d = detail(database(), incident_id)
        tax = d["taxonomy"]
        console.print(f"[bold]{d['id']}[/bold] {d['severity']} {d['status']}: {d['title']}",
                      highlight=False)
        console.print(f"deployment {d['deployment']}  category {d['category']}  "
                      f"OWASP {', '.join(tax.get('owasp', [])) or '-'}  "
                      f"ATLAS {', '.join(tax.get('atlas', [])) or '-'}  "
                      f"NIST {', '.join(tax.get('nist', [])) or '-'}", highlight=False)
        if d["assignees"]:
            console.print("roles: " + ", ".join(f"{k}={v}" for k, v in d["assignees"].items()),
                          highlight=False)
        for a in d["alerts"]:
            console.print(f"  alert {a['status']:8} {a['name']} [{a['fingerprint']}]",
                          highlight=False)
        for e in d["timeline"]:
            console.print(f"  {e['ts'][:19]} {e['kind']:9} {e['actor']}: {e['message']}",
                          highlight=False, markup=False)

    @inc.command("ack")
    def ack(incident_id: str, actor: str = typer.Option(None, help="who acknowledges")) -> None:
        """Acknowledge an incident (a detected one becomes triaged)."""
        from firebreak.incidents.lifecycle import acknowledge

        i = acknowledge(database(), incident_id, actor=_actor(actor))
        console.print(f"{i.id} acknowledged; status {i.status}")

    @inc.command("resolve")
    def resolve(incident_id: str, note: str = typer.Option("", help="why it is resolved"),
                actor: str = typer.Option(None, help="who resolves")) -> None:
        """Resolve an incident."""
        from firebreak.incidents.lifecycle import resolve as resolve_

        i = resolve_(database(), incident_id, actor=_actor(actor), note=note)
        console.print(f"{i.id} resolved")
