"""Kubernetes / Argo actions through the official client, against a loopback server that
answers the Kubernetes API paths those calls use (Deployments, their scale subresource,
ReplicaSets, Argo Rollout status). It applies patches as JSON merge patches."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="extra k8s")

from firebreak.actions.catalog import get_action  # noqa: E402
from firebreak.store.db import Database  # noqa: E402

from .conftest import MakeCtx  # noqa: E402


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _template(image: str, rev: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "model", "pod-template-hash": rev}},
            "spec": {"containers": [{"name": "server", "image": image}]}}


class FakeApiServer:
    """Deployments `model` (revision 2, image v2; ReplicaSets for v1 and v2) and Rollout `r`."""

    def __init__(self) -> None:
        dep_template = _template("registry/model:v2", "b")
        dep_template["metadata"]["labels"].pop("pod-template-hash")
        self.deployment = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "model", "namespace": "ml",
                         "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "model"}},
                     "template": dep_template}}
        self.replica_sets = [
            {"metadata": {"name": f"model-{h}", "namespace": "ml",
                          "annotations": {"deployment.kubernetes.io/revision": rev}},
             "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "model"}},
                      "template": _template(f"registry/model:v{rev}", h)}}
            for rev, h in (("1", "a"), ("2", "b"))]
        self.rollout: dict[str, Any] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                        "metadata": {"name": "r", "namespace": "ml"},
                                        "status": {}}
        self.patches: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _target(self) -> dict[str, Any] | None:
                path = self.path.split("?")[0]
                if re.fullmatch(r"/apis/apps/v1/namespaces/ml/deployments/model(/scale)?", path):
                    return api.deployment
                if path == "/apis/argoproj.io/v1alpha1/namespaces/ml/rollouts/r/status":
                    return api.rollout
                return None

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/apis/apps/v1/namespaces/ml/replicasets"):
                    assert "labelSelector=app%3Dmodel" in self.path
                    return self._send(200, {"kind": "ReplicaSetList", "apiVersion": "apps/v1",
                                            "metadata": {}, "items": api.replica_sets})
                target = self._target()
                if target is None:
                    return self._send(404, {"kind": "Status", "code": 404,
                                            "reason": "NotFound"})
                if self.path.endswith("/scale"):
                    return self._send(200, {"kind": "Scale", "spec": {
                        "replicas": target["spec"]["replicas"]}})
                return self._send(200, target)

            def do_PATCH(self) -> None:  # noqa: N802
                patch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                target = self._target()
                if target is None:
                    return self._send(404, {"kind": "Status", "code": 404})
                api.patches.append((self.path, self.headers["Content-Type"]))
                self._send(200, _merge(target, patch))

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def image(self) -> str:
        return str(self.deployment["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.fixture
def k8s() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _undo_ctx(ctx: Any) -> Any:
    return dataclasses.replace(ctx, step_id=ctx.step_id + ":undo")


def test_rollout_undo_goes_back_once_and_undo_restores(sdb: Database, make_ctx: MakeCtx,
                                                       k8s: FakeApiServer) -> None:
    ctx = make_ctx(sdb, step_id="rollback")
    params = {"host": k8s.url, "name": "model", "namespace": "ml"}
    action = get_action("k8s.rollout_undo")
    result = action.run(ctx, params)
    assert result.ok and k8s.image() == "registry/model:v1"
    assert "pod-template-hash" not in k8s.deployment["spec"]["template"]["metadata"]["labels"]
    again = action.run(ctx, params)  # same key after a crash: no second rollback
    assert again.ok and len(k8s.patches) == 1
    assert again.undo_data == result.undo_data
    assert action.undo(_undo_ctx(ctx), result).ok and k8s.image() == "registry/model:v2"


def test_scale_and_set_image_with_undo(sdb: Database, make_ctx: MakeCtx,
                                       k8s: FakeApiServer) -> None:
    ctx = make_ctx(sdb, step_id="scale")
    scale = get_action("k8s.scale")
    result = scale.run(ctx, {"host": k8s.url, "name": "model", "namespace": "ml",
                             "replicas": 0})
    assert result.ok and k8s.deployment["spec"]["replicas"] == 0
    assert scale.undo(_undo_ctx(ctx), result).ok and k8s.deployment["spec"]["replicas"] == 3
    ctx = dataclasses.replace(ctx, step_id="image")
    set_image = get_action("k8s.set_image")
    result = set_image.run(ctx, {"host": k8s.url, "name": "model", "namespace": "ml",
                                 "container": "server", "image": "registry/model:v0"})
    assert result.ok and k8s.image() == "registry/model:v0"
    assert set_image.undo(_undo_ctx(ctx), result).ok and k8s.image() == "registry/model:v2"


def test_argo_abort_and_retry(sdb: Database, make_ctx: MakeCtx, k8s: FakeApiServer) -> None:
    ctx = make_ctx(sdb, step_id="abort")
    action = get_action("argo.abort_rollout")
    result = action.run(ctx, {"host": k8s.url, "name": "r", "namespace": "ml"})
    assert result.ok and k8s.rollout["status"]["abort"] is True
    assert k8s.patches[-1][0].endswith("/rollouts/r/status")
    assert action.undo(_undo_ctx(ctx), result).ok and k8s.rollout["status"]["abort"] is False


def test_missing_object_is_a_clear_failure(sdb: Database, make_ctx: MakeCtx,
                                           k8s: FakeApiServer) -> None:
    from firebreak.errors import ActionError

    ctx = make_ctx(sdb)
    with pytest.raises(ActionError, match="answered 404") as err:
        get_action("k8s.scale").run(ctx, {"host": k8s.url, "name": "ghost", "namespace": "ml",
                                          "replicas": 1})
    assert not err.value.recoverable
