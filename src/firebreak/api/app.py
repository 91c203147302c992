"""The control-plane app factory: API routers, dashboard, and the runtime in the lifespan."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from firebreak import __version__
from firebreak.api import hardening, problems
from firebreak.api.observe import RequestContext
from firebreak.collector import tune_collector
from firebreak.config import Settings, get_settings
from firebreak.runtime import Runtime

# "module" paths whose `router` is mounted; each stage adds its own.
ROUTERS = [
    "firebreak.api.routers.health",
    "firebreak.api.routers.schema",
    "firebreak.api.routers.events",
    "firebreak.api.routers.deployments",
    "firebreak.api.routers.otlp",
    "firebreak.api.routers.metrics",
    "firebreak.api.routers.dashboard",
    "firebreak.api.routers.incidents",
    "firebreak.api.routers.silences",
    "firebreak.api.routers.notifications",
    "firebreak.api.routers.intake",
    "firebreak.api.routers.evidence",
    "firebreak.api.routers.reports",
    "firebreak.api.routers.policy",
    "firebreak.api.routers.playbooks",
    "firebreak.api.routers.runs",
    "firebreak.api.routers.audit",
    "firebreak.api.routers.results",
]


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    stages: list[str] | None = None,
) -> FastAPI:
    """Build the app. A given `runtime` is used as is (tests); otherwise one is opened."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.open(settings)
        app.state.runtime = rt
        await rt.start(stages)
        tune_collector()
        try:
            yield
        finally:
            await rt.stop()

    app = FastAPI(title="Firebreak", version=__version__, lifespan=lifespan,
                  description="Automated incident response for production AI systems.")
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app)
    hardening.install(app, settings)
    app.add_middleware(RequestContext)
    for path in ROUTERS:
        app.include_router(importlib.import_module(path).router)
    return app
