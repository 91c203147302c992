"""Fixtures: the reference responder and a recording OpenAI-compatible server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from firebreak.chaos.responder import create_app
from firebreak.chaos.servers import ServerThread


class Recorder:
    """A real HTTP server that keeps every request body and answers 'recorded'."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

        async def chat(request: Request) -> JSONResponse:
            self.bodies.append(orjson.loads(await request.body()))
            return JSONResponse({"choices": [{"message": {"role": "assistant",
                                                          "content": "recorded"}}]})

        self.app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.fixture(scope="module")
def responder_url() -> Iterator[str]:
    with ServerThread(create_app()) as srv:
        yield srv.url


@pytest.fixture
def responder() -> Iterator[tuple[str, Any]]:
    """A fresh responder (its faults and documents may be changed by the test)."""
    app = create_app()
    with ServerThread(app) as srv:
        yield srv.url, app.state.responder


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder()
    with ServerThread(rec.app) as srv:
        yield srv.url, rec
