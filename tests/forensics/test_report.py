"""The report: sections in order, every format, and the HTML drawn by real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from firebreak.config import Settings
from firebreak.errors import ValidationFailed
from firebreak.forensics.service import write_report
from firebreak.forensics.verify import verify
from firebreak.store import Database
from firebreak.store.incidents import update_incident

from . import scenarios
from .conftest import make_incident

CHROMIUM = "/usr/bin/chromium"
OUT = Path(__file__).resolve().parents[2] / "test-output"


def _campaign_report(db: Database, settings: Settings) -> tuple[str, dict[str, str]]:
    scenarios.injection_campaign(db)
    inc = make_incident(db, "support-bot")
    update_incident(db, inc.id, actor="playbook", message="contained", status="contained")
    return inc.id, write_report(db, incident_id=inc.id, settings=settings)


def test_report_formats_and_sections(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    inc, paths = _campaign_report(db, settings)
    assert set(paths) == {"md", "html", "json"}
    md = Path(paths["md"]).read_text()
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads[:6] == [
        "## Executive summary",
        "## Timeline",
        "## Root-cause findings",
        "## Evidence",
        "## Actions taken",
        "## Recommendations",
    ]
    assert "key-evil" in md.split("## Timeline")[0], "the summary names the cause"
    data = json.loads(Path(paths["json"]).read_text())
    assert data["summary"]["top_cause"] == "api_key:key-evil"
    assert data["verification"]["ok"] is True
    assert {"Root cause", "Impact", "Action items"} <= set(data["postmortem"])
    cited = {e for f in data["findings"] for e in f["evidence_ids"]}
    assert cited and cited <= {e["id"] for e in data["evidence"]}
    kinds = {t["kind"] for t in data["timeline"]}
    assert {"status", "onset", "evidence"} <= kinds
    # The written report is itself evidence, and the chain still verifies.
    assert verify(db, settings, inc).ok
    with pytest.raises(ValidationFailed, match="format"):
        write_report(db, incident_id=inc, formats=("pdf",), settings=settings)


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is required in CI and is missing")
    pytest.skip(f"{CHROMIUM} is not installed (mandatory in CI)")


@pytest.mark.browser
def test_html_report_renders_in_chromium(lite: tuple[Database, Settings]) -> None:
    from playwright.sync_api import sync_playwright

    exe = _chromium()
    db, settings = lite
    _, paths = _campaign_report(db, settings)
    html = Path(paths["html"]).read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no external assets"
    assert "<script" not in html
    OUT.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=exe,
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    errors.append(f"request {r.url}")
                    if not r.url.startswith(("file:", "data:"))
                    else None
                ),
            )
            page.goto(Path(paths["html"]).as_uri())
            boxes = page.eval_on_selector_all(
                "svg.chart",
                "els => els.map(e => [e.getBoundingClientRect().width,"
                " e.getBoundingClientRect().height])",
            )
            line = page.eval_on_selector("svg.chart polyline.series", "e => e.getBBox().width * 1")
            bars = page.eval_on_selector_all(
                "svg.chart rect.bar", "els => els.filter(e => e.getBBox().width > 1).length"
            )
            page.screenshot(path=str(OUT / "forensics-report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert len(boxes) == 3 and all(w > 100 and h > 50 for w, h in boxes)
    assert line > 100, "the metric line spans the chart"
    assert bars >= 3, "share bar and cluster bars drew"
    assert (OUT / "forensics-report.png").stat().st_size > 10_000


def test_report_for_unknown_incident_is_not_found(lite: tuple[Database, Settings]) -> None:
    from firebreak.errors import NotFound

    db, settings = lite
    with pytest.raises(NotFound):
        write_report(db, incident_id="inc-missing", settings=settings)
    assert shutil.which("true")
