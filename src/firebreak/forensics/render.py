"""Render the report data as Markdown, one self-contained HTML file, or JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from firebreak.forensics import charts
from firebreak.forensics.case import utc

FORMATS = ("md", "html", "json")


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("firebreak.forensics", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        keep_trailing_newline=True,
    )
    env.filters["ts"] = lambda v: (
        utc(v) if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    ).strftime("%Y-%m-%d %H:%M:%S")
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    return env


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in `fmt` (md, html or json)."""
    if fmt == "json":
        return orjson.dumps(
            report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
        ).decode()
    if fmt == "md":
        return _env().get_template("report.md.j2").render(r=report)
    if fmt == "html":
        return _env().get_template("report.html.j2").render(r=report, charts=_charts(report))
    raise ValueError(fmt)


def _charts(report: dict[str, Any]) -> dict[str, str]:
    c = report["charts"]
    clusters = c["clusters"]
    return {
        "metric": charts.line_chart(
            f"{c['metric'].capitalize()} per interval around onset",
            c["flagged_share"],
            c["labels"],
            c["onset_index"],
        ),
        "share": charts.share_chart(
            "Affected share (onset to containment)", c["affected"], c["requests_total"]
        ),
        "clusters": charts.bar_chart(
            "Attack cluster sizes", [k["label"] for k in clusters], [k["size"] for k in clusters]
        ),
    }
