"""RFC 9457 problem responses for every error: a title, a status, and what was wrong."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from firebreak.errors import FirebreakError, ValidationFailed


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """pydantic errors as [{field, reason}] with dotted field paths."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"field": ".".join(loc) or "body", "reason": err.get("msg", "invalid")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(ValidationFailed)
    async def _failed(_: Request, exc: ValidationFailed) -> JSONResponse:
        return problem(422, "Invalid request", exc.message,
                       errors=[{"field": exc.field, "reason": exc.reason}])

    @app.exception_handler(FirebreakError)
    async def _firebreak(_: Request, exc: FirebreakError) -> JSONResponse:
        return problem(exc.status_code, type(exc).__name__, exc.message)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        resp = problem(exc.status_code, str(exc.detail), str(exc.detail))
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp
