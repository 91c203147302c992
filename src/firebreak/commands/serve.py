"""`firebreak serve`: API, dashboard, ingest, detectors and playbook engine in one process."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="address to bind (default from settings)"),
        port: int = typer.Option(None, help="port to bind (default from settings)"),
        no_stages: bool = typer.Option(
            False, "--no-stages",
            help="API and ingest only, without the loop's stages (an ingest replica)"),
        role: str = typer.Option(
            None, help="all | api | worker | engine (scaled topology, docs/scaling.md); "
            "default from settings"),
    ) -> None:
        """Run the control plane (API, dashboard, ingest, detectors, engine)."""
        import uvicorn

        from firebreak.api.app import create_app
        from firebreak.config import get_settings
        from firebreak.logging import configure
        from firebreak.scale.roles import ROLES, role_stages

        settings = get_settings()
        role = role or settings.role
        if role not in ROLES:  # checked before logging is configured: nothing else runs
            typer.secho(f"--role: must be one of {', '.join(ROLES)}, not {role!r}",
                        fg="red", err=True)
            raise typer.Exit(2)
        configure(settings.log_format, settings.log_level)
        app = create_app(settings, stages=[] if no_stages else role_stages(role))
        uvicorn.run(app, host=host or settings.api.host,
                    port=port or settings.api.port, log_level="warning")
