"""`firebreak demo`: the whole loop on the reference world, live, in one command."""

from __future__ import annotations

import typer

from firebreak.commands.common import console, err_console


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        scenario: str = typer.Option("injection-campaign", help="the fault to inject"),
        once: bool = typer.Option(False, "--once", help="exit after the scenario (tests, CI)"),
    ) -> None:
        """Start the reference world, inject one fault, and watch Firebreak handle it."""
        import asyncio

        from firebreak.chaos.scenarios import SCENARIOS

        if scenario not in SCENARIOS:
            err_console.print(f"[red]error:[/red] scenario: unknown {scenario!r}; known: "
                              f"{', '.join(SCENARIOS)}")
            raise typer.Exit(2)
        passed = asyncio.run(_demo(scenario, once))
        raise typer.Exit(0 if passed else 1)


async def _demo(name: str, once: bool) -> bool:
    import asyncio

    from rich.panel import Panel

    from firebreak.chaos.render import live_progress, scorecard_table
    from firebreak.chaos.runner import run
    from firebreak.chaos.world import PROFILES, World

    with console.status("starting the reference world (model training, servers)..."):
        world = World(PROFILES["fast"]).start()
    try:
        control = world.url("control")
        console.print(Panel.fit(
            f"dashboard  [bold]{control}/[/bold]  (token: [bold]{world.token}[/bold])\n"
            f"gateway    {world.url('gateway')}/v1  (OpenAI-compatible)\n"
            f"workdir    {world.workdir}", title="Firebreak demo"))
        with live_progress([name]) as progress:
            card = await run([name], progress=progress, world=world)
        console.print(scorecard_table(card))
        console.print(f"scorecard on the dashboard: [bold]{control}/ui/chaos[/bold]")
        for s in card.scores:
            _explain(world, s)
        if not once:
            console.print(f"\nStill serving: open [bold]{control}/[/bold]. Ctrl-C to stop.")
            while True:
                await asyncio.sleep(3600)
        return card.passed
    except (KeyboardInterrupt, asyncio.CancelledError):
        return True
    finally:
        world.stop()


def _explain(world: object, score: object) -> None:
    """What Firebreak did for the incident: actions, policy, report path."""
    from firebreak.store.incidents import get_incident
    incident_id = getattr(score, "incident_id", None)
    if not incident_id:
        console.print(f"[red]no incident was opened[/red]: {getattr(score, 'note', '')}")
        return
    db = world.db  # type: ignore[attr-defined]
    inc = get_incident(db, incident_id)
    reports = world.handles["settings"].data_dir / "reports" / incident_id  # type: ignore[attr-defined]
    policy = getattr(score, "policy", {})
    console.print(f"\n[bold]{inc.id}[/bold] {inc.severity} {inc.category}: {inc.title}")
    console.print(f"  taxonomy: {inc.taxonomy}")
    console.print(f"  actions:  {', '.join(getattr(score, 'actions', [])) or 'none'}")
    shown = {k: v for k, v in policy.items() if v not in ([], False, None)}
    console.print(f"  guard policy once contained: {shown}")
    for path in sorted(reports.glob("report.*")):
        console.print(f"  report:   {path}")
