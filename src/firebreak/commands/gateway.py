"""`firebreak gateway`: run the OpenAI-compatible proxy."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def gateway(
        upstream: str = typer.Option(None, help="upstream base URL, e.g. http://host:port/v1 "
                                                "(default: gateway.upstream in the config)"),
        host: str = typer.Option(None, help="address to bind (default gateway.host)"),
        port: int = typer.Option(None, help="port to bind (default gateway.port)"),
    ) -> None:
        """Run the gateway: point OpenAI clients' base URL at it."""
        import uvicorn

        from firebreak.commands.common import err_console
        from firebreak.config import get_settings
        from firebreak.gateway.app import create_gateway_app
        from firebreak.logging import configure

        settings = get_settings()
        gw = settings.gateway
        if upstream:
            if not upstream.startswith(("http://", "https://")):
                err_console.print(f"[red]error:[/red] --upstream: {upstream!r} is not an "
                                  "http(s) URL")
                raise typer.Exit(2)
            gw = gw.model_copy(update={"upstream": upstream})
        if not gw.upstream and not gw.deployments:
            err_console.print("[red]error:[/red] --upstream: no upstream given and the config "
                              "has no gateway.upstream or gateway.deployments")
            raise typer.Exit(2)
        settings = settings.model_copy(update={"gateway": gw})
        configure(settings.log_format, settings.log_level)
        uvicorn.run(create_gateway_app(settings), host=host or gw.host, port=port or gw.port,
                    log_level="warning")
