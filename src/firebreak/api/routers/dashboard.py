"""The dashboard: token login, HTML pages, and the JSON those pages poll (read scope).

Pages are server-rendered shells; static/app.js fills them by polling the JSON routes
under /ui/api, so nothing reloads and nothing is fetched from another origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.templating import Jinja2Templates

from firebreak import __version__
from firebreak.api.deps import get_db, get_runtime, require
from firebreak.runtime import Runtime
from firebreak.store import Database
from firebreak.web import STATIC, TEMPLATES, parts, views

router = APIRouter(tags=["dashboard"], include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES))
COOKIE = "firebreak_token"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
PAGES = {"": "overview", "incidents": "incidents", "runs": "runs", "silences": "silences",
         "redteam": "redteam", "chaos": "chaos"}
_read = require("read")


def _viewer(request: Request, runtime: Runtime) -> Any | None:
    try:
        return _read(request, None, runtime)
    except HTTPException:
        return None


def _page(request: Request, runtime: Runtime, page: str, **ctx: Any) -> Response:
    if _viewer(request, runtime) is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return templates.TemplateResponse(request, f"{page}.html",
                                      {"page": page, "version": __version__, **ctx})


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui", error: str = "") -> Response:
    return templates.TemplateResponse(request, "login.html", {
        "page": "login", "version": __version__, "next": _safe_next(next), "error": error})


@router.post("/login")
async def login(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    nxt = _safe_next((form.get("next") or ["/ui"])[0])
    creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    try:
        _read(request, creds, runtime)
    except HTTPException as exc:
        return RedirectResponse(f"/login?error={quote(str(exc.detail))}&next={quote(nxt)}", 303)
    resp = RedirectResponse(nxt, status_code=303)
    resp.set_cookie(COOKIE, token, max_age=12 * 3600, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/")
    return resp


@router.post("/logout")
def logout() -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


def _safe_next(target: str) -> str:
    # Only our own pages: never an open redirect to another site.
    return target if target.startswith("/ui") and "//" not in target else "/ui"


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    path = STATIC / name
    kind = STATIC_TYPES.get(path.suffix)
    if kind is None or path.parent != STATIC or not path.is_file():
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-cache"})


@router.get("/ui", response_class=HTMLResponse)
@router.get("/ui/{section}", response_class=HTMLResponse)
def section_page(request: Request, section: str = "",
                 runtime: Runtime = Depends(get_runtime)) -> Response:
    if section == "results":  # the former combined page
        return RedirectResponse("/ui/chaos", status_code=307)
    if section not in PAGES:
        raise HTTPException(404, f"no dashboard page {section!r}")
    return _page(request, runtime, PAGES[section])


@router.get("/ui/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: str,
                  runtime: Runtime = Depends(get_runtime)) -> Response:
    return _page(request, runtime, "incident", incident_id=incident_id)


@router.get("/ui/api/overview", dependencies=[Depends(_read)])
def overview_data(window: str = Query("1h", pattern="^(15m|1h|6h|24h)$"),
                  db: Database = Depends(get_db)) -> dict[str, Any]:
    return views.overview(db, window)


@router.get("/ui/api/incidents", dependencies=[Depends(_read)])
def incidents_data(status: str | None = None, severity: str | None = None,
                   deployment: str | None = None, category: str | None = None,
                   db: Database = Depends(get_db)) -> dict[str, Any]:
    return views.incidents(db, status=status, severity=severity, deployment=deployment,
                           category=category)


@router.get("/ui/api/incidents/{incident_id}", dependencies=[Depends(_read)])
def incident_data(incident_id: str, db: Database = Depends(get_db)) -> dict[str, Any]:
    return views.incident(db, incident_id)


@router.get("/ui/api/runs", dependencies=[Depends(_read)])
def runs_data(incident_id: str | None = None, db: Database = Depends(get_db)) -> dict[str, Any]:
    return {"runs": parts.runs(db, incident_id)}


@router.get("/ui/api/silences", dependencies=[Depends(_read)])
def silences_data(db: Database = Depends(get_db)) -> dict[str, Any]:
    return {"silences": parts.silences(db)}
