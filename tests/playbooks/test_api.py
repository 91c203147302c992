"""The API and CLI around runs: list, approve/deny with scopes, the signed link."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from firebreak.playbooks import approvals
from firebreak.runtime import Runtime
from firebreak.store.playbooks import get_step, list_runs
from firebreak.store.tokens import create_token

from .helpers import make_incident

PB = """
name: gated
match: {category: jailbreak}
steps:
  - {id: gate, approval: {role: ml-oncall, timeout: 1h}}
  - {id: mode, action: gateway.guard_mode, with: {mode: strict}}
"""


@pytest.fixture
def live(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[str, Runtime]]:
    from playbooks.helpers import root
    LiveServer, make_settings = root().LiveServer, root().make_settings
    from firebreak.api.app import create_app

    folder = tmp_path / "pbs"
    folder.mkdir()
    (folder / "gated.yaml").write_text(PB)
    settings = make_settings(sqlite_url, data_dir=tmp_path / "data")
    settings.playbooks.dirs = [folder]
    runtime = Runtime.open(settings)
    with LiveServer(create_app(settings, runtime=runtime,
                               stages=["firebreak.playbooks.stage:create"])) as server:
        settings.api.public_url = server.url
        yield server.url, runtime


def _waiting(runtime: Runtime, incident_id: str) -> str:
    for _ in range(200):
        runs = list_runs(runtime.db, incident_id=incident_id)
        if runs and (s := get_step(runtime.db, runs[0].id, "gate")) and s.status == "waiting":
            return runs[0].id
        time.sleep(0.05)
    raise AssertionError("the run never reached its approval step")


def _start(runtime: Runtime) -> tuple[str, str]:
    inc = make_incident(runtime.db, category="jailbreak")
    # The stage also starts runs for open incidents on the incidents topic; publish from
    # the server's loop through the engine the stage registered.
    engine = runtime.extras["playbook_engine"]
    import asyncio

    asyncio.run_coroutine_threadsafe(engine.start_for(inc.id), _loop(engine)).result(10)
    return inc.id, _waiting(runtime, inc.id)


def _loop(engine: object) -> object:
    return engine._heartbeat.get_loop()  # type: ignore[attr-defined]


def test_api_lists_and_approves_with_operate_scope(live: tuple[str, Runtime],
                                                   admin_headers: dict[str, str]) -> None:
    url, runtime = live
    _, run_id = _start(runtime)
    reader, _ = create_token(runtime.db, name="reader", scopes=["read"])
    with httpx.Client(base_url=url, timeout=10) as c:
        names = [p["name"] for p in c.get("/v1/playbooks", headers=admin_headers).json()]
        assert "gated" in names and "contain-jailbreak" in names
        runs = c.get("/v1/runs", headers={"Authorization": f"Bearer {reader}"}).json()
        assert any(r["id"] == run_id and r["status"] == "waiting" for r in runs)
        path = f"/v1/runs/{run_id}/steps/gate/approve"
        assert c.post(path).status_code == 401
        assert c.post(path, headers={"Authorization": f"Bearer {reader}"}).status_code == 403
        assert c.post(f"/v1/runs/{run_id}/steps/nope/approve",
                      headers=admin_headers).status_code == 404
        done = c.post(path, headers=admin_headers)
        assert done.status_code == 200 and done.json()["status"] == "approved"
        again = c.post(path, headers=admin_headers)
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        for _ in range(100):
            detail = c.get(f"/v1/runs/{run_id}", headers=admin_headers).json()
            if detail["status"] == "succeeded":
                break
            time.sleep(0.05)
        assert [s["status"] for s in detail["steps"]] == ["approved", "succeeded"]


def test_signed_link_approves_without_a_token(live: tuple[str, Runtime]) -> None:
    url, runtime = live
    _, run_id = _start(runtime)
    link = approvals.link(runtime.settings, run_id, "gate", "deny")
    assert link.startswith(url)
    with httpx.Client(timeout=10) as c:
        forged = c.get(link.replace("decision=deny", "decision=approve"))
        assert forged.status_code == 422 and "signature" in forged.json()["detail"]
        ok = c.get(link)
        assert ok.status_code == 200 and "denied" in ok.text
    assert get_step(runtime.db, run_id, "gate").status == "denied"  # type: ignore[union-attr]


def test_cli_approve_and_runs(live: tuple[str, Runtime], monkeypatch: pytest.MonkeyPatch) -> None:
    _, runtime = live
    _, run_id = _start(runtime)
    from firebreak.cli import app
    from firebreak.config import get_settings

    monkeypatch.setenv("FIREBREAK_DATABASE_URL", runtime.settings.database_url)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["playbook", "approve", run_id, "gate", "--actor", "bob"])
        assert out.exit_code == 0, out.output
        assert "approved" in out.output
        listing = CliRunner().invoke(app, ["playbook", "runs"])
        assert listing.exit_code == 0 and "run-" in listing.output
        steps = CliRunner().invoke(app, ["playbook", "runs", "--run", run_id])
        assert "approved" in steps.output and "gate" in steps.output
        missing = CliRunner().invoke(app, ["playbook", "deny", "run-nope", "gate"])
        assert missing.exit_code != 0
    finally:
        get_settings.cache_clear()
    assert get_step(runtime.db, run_id, "gate").decided_by == "bob"  # type: ignore[union-attr]
