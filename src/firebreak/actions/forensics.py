"""forensics.snapshot and forensics.report: call the forensics service.

When `firebreak.forensics.service` is not importable they refuse with a clear,
non-recoverable message instead of pretending to work. A snapshot repeated after a crash
adds the same content-addressed blobs again, which changes no evidence.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from firebreak.actions.base import Action, ActionContext, ActionResult
from firebreak.errors import ActionError, FirebreakError
from firebreak.playbooks.durations import parse_duration


def _call(fn: Any, ctx: ActionContext, **kwargs: Any) -> Any:
    if "settings" in inspect.signature(fn).parameters:
        kwargs["settings"] = ctx.settings
    try:
        return fn(ctx.db, incident_id=ctx.incident.id, **kwargs)
    except FirebreakError as exc:
        raise ActionError(exc.message, recoverable=False) from exc


def _service(module: str = "service") -> Any:
    """firebreak.forensics.<module> (`worker` takes snapshots and writes reports in
    processes of their own)."""
    try:
        return importlib.import_module(f"firebreak.forensics.{module}")
    except ImportError as exc:
        raise ActionError("forensics is not available in this build "
                          f"(firebreak.forensics.{module}: {exc})", recoverable=False) from exc


class Snapshot(Action):
    """Preserve the evidence around the incident (window, e.g. 15m) as sealed blobs."""

    name = "forensics.snapshot"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        window = int(parse_duration(params.get("window", "15m")))
        ids = _call(_service("worker").snapshot, ctx, window_seconds=window)
        return ActionResult(ok=True, detail=f"{len(ids)} evidence items preserved",
                            data={"evidence_ids": list(ids)})


class Report(Action):
    """Write the incident report (md, html, json) citing evidence ids."""

    name = "forensics.report"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        formats = tuple(params.get("formats", ("md", "html", "json")))
        paths = _call(_service("worker").write_report, ctx, formats=formats)
        return ActionResult(ok=True, detail=f"report written: {', '.join(sorted(paths))}",
                            data={"reports": dict(paths)})
