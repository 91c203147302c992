"""Automatic reports (stage), the HTTP API, the CLI and the regression-suite export."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from firebreak import bus
from firebreak.config import Settings
from firebreak.forensics.export import export_regression_suite
from firebreak.forensics.service import snapshot
from firebreak.runtime import Runtime
from firebreak.store import Database
from firebreak.store.incidents import update_incident

from . import scenarios
from .conftest import make_incident

STAGE = "firebreak.forensics.stage:create"


async def test_report_written_when_contained_and_again_when_resolved(
    lite: tuple[Database, Settings],
) -> None:
    db, settings = lite
    scenarios.poisoned_rag(db)
    inc = make_incident(db, "support-bot")
    runtime = Runtime(settings=settings, db=db)
    await runtime.start([STAGE])
    stage = runtime.stages[0]
    try:
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id, "change": "opened"}])
        update_incident(db, inc.id, actor="t", message="contained", status="contained")
        for _ in range(2):  # a repeated message does not write twice
            await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id, "change": "status"}])
        await runtime.bus.drain()
        update_incident(db, inc.id, actor="t", message="resolved", status="resolved")
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id, "change": "status"}])
        await runtime.bus.drain()
    finally:
        await runtime.stop()
    assert [(i, s) for i, s, _ in stage.written] == [(inc.id, "contained"), (inc.id, "resolved")]  # type: ignore[attr-defined]
    report = json.loads(Path(stage.written[-1][2]["json"]).read_text())  # type: ignore[attr-defined]
    assert report["incident"]["status"] == "resolved"
    assert report["summary"]["top_cause"] == "rag_source:wiki-upload"


def test_api_lists_verifies_and_reports(
    live_api: tuple[str, Runtime], admin_headers: dict[str, str]
) -> None:
    url, runtime = live_api
    db, settings = runtime.db, runtime.settings
    scenarios.model_swap(db)
    inc = make_incident(db, "credit-risk")
    ids = snapshot(db, incident_id=inc.id, settings=settings)
    with httpx.Client(base_url=url, headers=admin_headers, timeout=60) as c:
        items = c.get(f"/v1/incidents/{inc.id}/evidence").json()["items"]
        assert [i["id"] for i in items] == ids
        assert c.get("/v1/evidence/verify", params={"incident_id": inc.id}).json()["ok"] is True
        blob = c.get(f"/v1/evidence/{ids[0]}/blob")
        assert blob.headers["x-content-sha256"] == items[0]["blob_sha256"]
        [events] = [i for i in items if i["kind"] == "events:prediction"]
        joined = c.get(f"/v1/evidence/{events['id']}/events")  # its pieces as one array
        assert len(joined.json()) == events["meta"]["count"] > 0
        assert c.get(f"/v1/evidence/{ids[0]}/events").status_code == 404  # not an events record
        rep = c.get(f"/v1/incidents/{inc.id}/report", params={"format": "json"}).json()
        assert rep["summary"]["top_cause"] == "model_version:v2"
        html = c.get(f"/v1/incidents/{inc.id}/report", params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
        bad = c.get(f"/v1/incidents/{inc.id}/report", params={"format": "pdf"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"
        assert c.get("/v1/incidents/inc-nope/evidence").status_code == 404
        assert c.get("/v1/evidence/ev-nope").status_code == 404
    assert httpx.get(f"{url}/v1/evidence/verify").status_code == 401


def test_cli_verify_ls_and_report(
    lite: tuple[Database, Settings], monkeypatch: object, tmp_path: Path
) -> None:
    from firebreak.cli import app
    from firebreak.config import get_settings
    from firebreak.forensics.evidence import blob_path, list_evidence

    db, settings = lite
    scenarios.flipped_batch(db)
    inc = make_incident(db, "spam-filter")
    snapshot(db, incident_id=inc.id, settings=settings)
    env = {
        "FIREBREAK_DATABASE_URL": settings.database_url,
        "FIREBREAK_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        ok = runner.invoke(app, ["evidence", "verify", inc.id], env=env)
        assert ok.exit_code == 0 and "ok" in ok.output, ok.output
        listed = runner.invoke(app, ["evidence", "ls", inc.id], env=env)
        assert listed.exit_code == 0 and "training" in listed.output
        out = runner.invoke(app, ["report", inc.id, "--format", "md"], env=env)
        assert out.exit_code == 0, out.output
        assert Path(out.output.split("md: ", 1)[1].split()[0]).is_file()
        bad = runner.invoke(app, ["report", inc.id, "--format", "pdf"], env=env)
        assert bad.exit_code != 0
        path = blob_path(settings, list_evidence(db, inc.id)[1]["blob_sha256"])
        path.write_bytes(path.read_bytes()[:-1] + b"X")
        broken = runner.invoke(app, ["evidence", "verify", inc.id], env=env)
        assert broken.exit_code == 1 and "blob_changed" in broken.output
    finally:
        get_settings.cache_clear()


def test_export_regression_suite(lite: tuple[Database, Settings], tmp_path: Path) -> None:
    db, _ = lite
    key, payload = scenarios.injection_campaign(db)
    inc = make_incident(db, "support-bot")
    n = export_regression_suite(db, inc.id, tmp_path / "suite.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "suite.jsonl").read_text().splitlines()]
    assert n == len(rows) >= 4
    assert set(rows[0]) == {"id", "attack", "payload", "goal", "source_incident"}
    assert {r["source_incident"] for r in rows} == {inc.id}
    assert any(payload in r["payload"] for r in rows)
    assert {r["attack"] for r in rows} == {"direct-injection"}
    assert len({r["payload"] for r in rows}) == len(rows), "payloads are deduplicated"


def test_exported_suite_loads_in_the_redteam_runner(
    lite: tuple[Database, Settings], tmp_path: Path
) -> None:
    suites = pytest.importorskip("firebreak.redteam.suites")
    db, _ = lite
    scenarios.injection_campaign(db)
    inc = make_incident(db, "support-bot")
    n = export_regression_suite(db, inc.id, tmp_path / "suite.jsonl")
    suite = suites.load_jsonl(tmp_path / "suite.jsonl")
    assert len(suite.probes) == n
    assert {p.source_incident for p in suite.probes} == {inc.id}
