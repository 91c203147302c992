"""The gateway as its own ASGI app (Starlette: no control-plane machinery in the hot path).

Routes: POST /v1/chat/completions, /v1/completions, /v1/embeddings; GET /v1/models;
GET /healthz; GET /metrics.

`firebreak gateway --workers N` runs N processes of this app on one port (uvicorn's
supervisor): each builds its app with `worker_app()` from the settings plus the command
line's overrides, which the parent hands down in `OVERRIDES_ENV`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from firebreak.collector import tune_collector
from firebreak.config import Settings, get_settings
from firebreak.gateway import otel, wire
from firebreak.gateway.policy_cache import PolicyCache
from firebreak.gateway.proxy import Gateway, warm_scanners
from firebreak.gateway.telemetry import BatchSender
from firebreak.gateway.upstream import UPSTREAM_ERRORS, proxy_for, upstream_session
from firebreak.scale.policy_push import PolicyListener
from firebreak.scale.ratelimit import limiter_for
from firebreak.store import open_database

OVERRIDES_ENV = "FIREBREAK_GATEWAY_OVERRIDES"  # JSON: gateway settings the command line set


def with_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """`settings` with some `gateway` fields replaced (the command line's --upstream)."""
    if not overrides:
        return settings
    return settings.model_copy(update={"gateway": settings.gateway.model_copy(update=overrides)})


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn factory): settings, then the parent's overrides."""
    from firebreak.logging import configure

    settings = with_overrides(get_settings(), json.loads(os.environ.get(OVERRIDES_ENV) or "{}"))
    configure(settings.log_format, settings.log_level)
    return create_gateway_app(settings)


def _senders(settings: Settings, client: httpx.AsyncClient) -> tuple[BatchSender | None, ...]:
    gw = settings.gateway
    events = spans = None
    if gw.control_plane_url:
        token = gw.ingest_token.get_secret_value() if gw.ingest_token else None
        events = BatchSender("gateway_events", gw.control_plane_url.rstrip("/") + "/v1/events",
                             client, capacity=gw.telemetry_buffer,
                             headers={"Authorization": f"Bearer {token}"} if token else {})
    if gw.otlp_endpoint:
        spans = BatchSender("gateway_otlp", gw.otlp_endpoint.rstrip("/") + "/v1/traces",
                            client, capacity=gw.telemetry_buffer, encode=otel.encode)
    return events, spans


def create_gateway_app(settings: Settings | None = None) -> Starlette:
    """Build the gateway app; the pool, policy poller and senders start with it."""
    settings = settings or get_settings()
    gw = settings.gateway

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = open_database(settings.database_url)
        async with upstream_session(gw.timeout_seconds) as client, \
                httpx.AsyncClient(timeout=10) as side:
            cache = PolicyCache(db, gw.policy_poll_seconds)
            events, spans = _senders(settings, side)
            app.state.gateway = Gateway(gw, cache, client, events, spans)
            app.state.gateway.limiter = limiter_for(settings)  # Redis-shared when redis_url set
            warm_scanners()
            tune_collector()
            await cache.start()
            push = PolicyListener(cache, settings.database_url)  # scaled: NOTIFY, poll fallback
            await push.start()
            for sender in (events, spans):
                if sender:
                    sender.start()
            try:
                yield
            finally:
                await push.stop()
                await cache.stop()
                for sender in (events, spans):
                    if sender:
                        await sender.stop()
                db.dispose()

    return Starlette(routes=_routes(), lifespan=lifespan)


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def chat(request: Request) -> Response:
    return await _gateway(request).handle(request, "chat", "/chat/completions")


async def completions(request: Request) -> Response:
    return await _gateway(request).handle(request, "text_completion", "/completions")


async def embeddings(request: Request) -> Response:
    return await _gateway(request).handle(request, "embeddings", "/embeddings")


async def models(request: Request) -> Response:
    gw = _gateway(request)
    base = gw.settings.upstream or next((d.upstream for d in gw.settings.deployments), None)
    if not base:
        return JSONResponse({"object": "list", "data": []})
    try:
        async with gw.client.get(base.rstrip("/") + "/models", proxy=proxy_for(base),
                                 headers=gw.headers_for(request, None)) as resp:
            content = await resp.read()
            media_type = resp.headers.get("content-type", "application/json")
    except UPSTREAM_ERRORS as exc:
        return wire.error(502, f"upstream unreachable ({type(exc).__name__})", "api_error",
                          "upstream_unreachable")
    return Response(content, status_code=resp.status, media_type=media_type)


async def healthz(request: Request) -> Response:
    gw = _gateway(request)
    body = {"status": "ok", "policy_store": "ok" if gw.policies.healthy else "stale",
            "telemetry_dropped": gw.events.dropped if gw.events else 0,
            # which process answered and the policy versions it enforces (--workers N)
            "worker": os.getpid(),
            "policy_versions": {name: p.version for name, p in gw.policies.policies.items()}}
    return JSONResponse(body)


async def metrics_endpoint(_: Request) -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # --workers N: every worker's samples
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _routes() -> list[Route]:
    return [Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"])]
