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
        workers: int = typer.Option(1, min=1, max=64,
                                    help="gateway processes serving the one port (more than 1 "
                                         "needs redis_url, so that rate limits are shared)"),
    ) -> None:
        """Run the gateway: point OpenAI clients' base URL at it."""
        import uvicorn

        from firebreak.commands.common import err_console
        from firebreak.config import get_settings
        from firebreak.gateway.app import create_gateway_app, with_overrides
        from firebreak.logging import configure

        settings = get_settings()
        overrides = {}
        if upstream:
            if not upstream.startswith(("http://", "https://")):
                err_console.print(f"[red]error:[/red] --upstream: {upstream!r} is not an "
                                  "http(s) URL")
                raise typer.Exit(2)
            overrides["upstream"] = upstream
        settings = with_overrides(settings, overrides)
        gw = settings.gateway
        if not gw.upstream and not gw.deployments:
            err_console.print("[red]error:[/red] --upstream: no upstream given and the config "
                              "has no gateway.upstream or gateway.deployments")
            raise typer.Exit(2)
        if workers > 1 and not settings.redis_url:
            err_console.print(
                f"[red]error:[/red] --workers {workers}: each worker process would keep its own "
                "rate-limit buckets, letting through up to that many times each limit; set "
                "redis_url (FIREBREAK_REDIS_URL) so that the workers share them")
            raise typer.Exit(2)
        configure(settings.log_format, settings.log_level)
        if workers == 1:
            uvicorn.run(create_gateway_app(settings), host=host or gw.host,
                        port=port or gw.port, log_level="warning")
            return
        _run_workers(workers, settings.database_url, overrides, host or gw.host,
                     port or gw.port)


def _run_workers(workers: int, database_url: str, overrides: dict[str, str], host: str,
                 port: int) -> None:
    """Several gateway processes on one socket (uvicorn's supervisor restarts dead ones).

    Each worker polls the policy store itself (a change reaches all within
    `policy_poll_seconds`) and takes rate-limit tokens from Redis. The database is migrated
    here, once: workers migrating at the same time would race.
    """
    import json
    import os
    import shutil
    import tempfile

    import uvicorn

    from firebreak.gateway.app import OVERRIDES_ENV
    from firebreak.store import upgrade

    upgrade(database_url)
    os.environ[OVERRIDES_ENV] = json.dumps(overrides)
    own_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # /metrics sums every worker's files
        own_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fbk-prom-")
    try:
        uvicorn.run("firebreak.gateway.app:worker_app", factory=True, workers=workers,
                    host=host, port=port, log_level="warning")
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)
