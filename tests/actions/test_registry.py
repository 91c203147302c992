"""registry.rollback against a real MLflow tracking server (SQLite backend) on loopback."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from firebreak.actions.catalog import get_action
from firebreak.store.db import Database

from .conftest import MakeCtx


def _need_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the mlflow extra is required in CI: pip install 'firebreak[mlflow]'")
        pytest.skip("mlflow is not installed (extra mlflow; mandatory in CI)")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _need_mlflow()
    from playbooks.helpers import root
    free_port = root().free_port

    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    proc = subprocess.Popen([exe, "server", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1",
                             "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                             "--default-artifact-root", str(root / "artifacts")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # MLflow migrates its schema on first start
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("mlflow server did not start: "
                               + (proc.stderr.read().decode()[-2000:] if proc.stderr else ""))
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_rollback_moves_alias_once_and_undo_restores(sdb: Database, make_ctx: MakeCtx,
                                                     mlflow_server: str) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    client.create_registered_model("fraud")
    run = client.create_run(experiment_id="0")
    for _ in range(3):
        client.create_model_version("fraud", source=f"runs:/{run.info.run_id}/model",
                                    run_id=run.info.run_id)
    client.set_registered_model_alias("fraud", "champion", "3")
    ctx = make_ctx(sdb, step_id="rollback")
    params = {"model": "fraud", "alias": "champion", "tracking_uri": mlflow_server}
    action = get_action("registry.rollback")
    result = action.run(ctx, params)
    assert result.ok and result.data == {"from": "3", "to": "2"}
    assert client.get_model_version_by_alias("fraud", "champion").version == "2"
    again = action.run(ctx, params)  # the same key after a crash: not moved to 1
    assert again.data == result.data
    assert client.get_model_version_by_alias("fraud", "champion").version == "2"
    undo_ctx = dataclasses.replace(ctx, step_id="rollback:undo")
    assert action.undo(undo_ctx, result).ok
    assert client.get_model_version_by_alias("fraud", "champion").version == "3"
    other = dataclasses.replace(ctx, step_id="explicit")
    assert action.run(other, {**params, "to_version": 1}).data == {"from": "3", "to": "1"}
