"""`firebreak serve`: API, dashboard, ingest, detectors and playbook engine in one process."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="address to bind (default from settings)"),
        port: int = typer.Option(None, help="port to bind (default from settings)"),
    ) -> None:
        """Run the control plane (API, dashboard, ingest, detectors, engine)."""
        import uvicorn

        from firebreak.api.app import create_app
        from firebreak.config import get_settings
        from firebreak.logging import configure

        settings = get_settings()
        configure(settings.log_format, settings.log_level)
        uvicorn.run(create_app(settings), host=host or settings.api.host,
                    port=port or settings.api.port, log_level="warning")
