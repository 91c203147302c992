"""Kubernetes and Argo Rollouts actions through the official `kubernetes` client (extra k8s).

k8s.rollout_undo, k8s.scale, k8s.set_image (Deployments) and argo.abort_rollout (Argo
Rollouts). Each patch stamps the annotation `firebreak.io/idempotency-key` on the object, so
a repeated call with the same key changes nothing more. The API server is taken from the
step's `host`/`token` params, else settings `plugins.k8s` (host, token, verify_ssl), else
the in-cluster service account, else ~/.kube/config.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from firebreak.actions.base import Action, ActionContext, ActionResult, need
from firebreak.errors import ActionError, MissingDependency

KEY_ANNOTATION = "firebreak.io/idempotency-key"
FROM_ANNOTATION = "firebreak.io/rolled-back-from"


def _client(ctx: ActionContext, params: dict[str, Any]) -> Any:
    try:
        from kubernetes import client, config
    except ImportError as exc:
        raise MissingDependency("kubernetes", "k8s") from exc
    conf = {**ctx.settings.plugins.get("k8s", {}), **{k: params[k] for k in ("host", "token")
                                                        if params.get(k)}}
    if conf.get("host"):
        cfg = client.Configuration()
        cfg.host = str(conf["host"])
        cfg.verify_ssl = bool(conf.get("verify_ssl", True))
        if conf.get("token"):
            cfg.api_key = {"authorization": str(conf["token"])}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(cfg)
    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, OSError) as exc:
            raise ActionError("no Kubernetes API configured: give `host` or settings "
                              f"plugins.k8s.host, or a kubeconfig ({exc})") from exc
    return client.ApiClient()


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from kubernetes.client.exceptions import ApiException

    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise ActionError(f"Kubernetes API answered {exc.status}: {exc.reason}",
                          recoverable=exc.status >= 500 or exc.status == 429) from exc
    except OSError as exc:
        raise ActionError(f"Kubernetes API unreachable: {exc}", recoverable=True) from exc


class DeploymentAction(Action):
    """Shared plumbing: read a Deployment, patch it once per idempotency key."""

    containment: ClassVar[bool] = True
    undoable: ClassVar[bool] = True

    def _apps(self, ctx: ActionContext, params: dict[str, Any]) -> Any:
        from kubernetes import client

        return client.AppsV1Api(_client(ctx, params))

    def _target(self, params: dict[str, Any]) -> tuple[str, str]:
        return str(need(params, "name")), str(params.get("namespace", "default"))

    def _where(self, params: dict[str, Any]) -> dict[str, Any]:
        # Undo needs to find the object again; never keep the token (it may be a secret).
        name, ns = self._target(params)
        return {"name": name, "namespace": ns, "host": params.get("host")}

    def _read(self, apps: Any, name: str, ns: str) -> dict[str, Any]:
        obj = _call(apps.read_namespaced_deployment, name, ns)
        return apps.api_client.sanitize_for_serialization(obj)

    def _stamped(self, dep: dict[str, Any], key: str) -> bool:
        return (dep.get("metadata", {}).get("annotations") or {}).get(KEY_ANNOTATION) == key

    def _patch(self, apps: Any, name: str, ns: str, key: str, spec: dict[str, Any]) -> None:
        body = {"metadata": {"annotations": {KEY_ANNOTATION: key}}, "spec": spec}
        _call(apps.patch_namespaced_deployment, name, ns, body)

    def undo(self, ctx: ActionContext, result: ActionResult) -> ActionResult:
        u = result.undo_data
        apps = self._apps(ctx, u)
        if self._stamped(self._read(apps, u["name"], u["namespace"]), ctx.key):
            return ActionResult(ok=True, detail="already restored")
        self._patch(apps, u["name"], u["namespace"], ctx.key, u["spec"])
        return ActionResult(ok=True, detail=f"restored deployment {u['namespace']}/{u['name']}")


class RolloutUndo(DeploymentAction):
    """Roll a Deployment back to its previous revision (like `kubectl rollout undo`)."""

    name = "k8s.rollout_undo"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        name, ns = self._target(params)
        apps = self._apps(ctx, params)
        dep = self._read(apps, name, ns)
        rsets = self._replica_sets(apps, dep, ns)
        annotations = dep["metadata"].get("annotations") or {}
        if self._stamped(dep, ctx.key):  # done before a crash: rebuild the undo data
            current = int(annotations.get(FROM_ANNOTATION, "0"))
            before = self._template(rsets, lambda r: r == current)
        else:
            current = _revision(dep)
            before = dep["spec"]["template"]
            previous = self._template(rsets, lambda r: r < current)
            body = {"metadata": {"annotations": {KEY_ANNOTATION: ctx.key,
                                                 FROM_ANNOTATION: str(current)}},
                    "spec": {"template": previous}}
            _call(apps.patch_namespaced_deployment, name, ns, body)
        return ActionResult(ok=True, detail=f"deployment {ns}/{name} rolled back from "
                            f"revision {current}", undo_data={
                                **self._where(params), "spec": {"template": before}})

    def _replica_sets(self, apps: Any, dep: dict[str, Any], ns: str) -> list[dict[str, Any]]:
        labels = dep["spec"]["selector"].get("matchLabels", {})
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return apps.api_client.sanitize_for_serialization(
            _call(apps.list_namespaced_replica_set, ns, label_selector=selector))["items"]

    def _template(self, rsets: list[dict[str, Any]], pick: Any) -> dict[str, Any]:
        chosen = sorted((rs for rs in rsets if pick(_revision(rs))), key=_revision)
        if not chosen:
            raise ActionError("the deployment has no previous revision to roll back to",
                              recoverable=False)
        template = copy.deepcopy(chosen[-1]["spec"]["template"])
        template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
        return template


def _revision(obj: dict[str, Any]) -> int:
    annotations = obj["metadata"].get("annotations") or {}
    return int(annotations.get("deployment.kubernetes.io/revision", "0"))


class Scale(DeploymentAction):
    """Set a Deployment's replica count (e.g. 0 to take a model server out)."""

    name = "k8s.scale"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        name, ns = self._target(params)
        replicas = int(need(params, "replicas"))
        apps = self._apps(ctx, params)
        dep = self._read(apps, name, ns)
        before = dep["spec"].get("replicas", 1)
        if not self._stamped(dep, ctx.key):
            self._patch(apps, name, ns, ctx.key, {"replicas": replicas})
        return ActionResult(ok=True, detail=f"deployment {ns}/{name} scaled to {replicas}",
                            undo_data={**self._where(params), "spec": {"replicas": before}})


class SetImage(DeploymentAction):
    """Set one container's image (e.g. back to the last good model server image)."""

    name = "k8s.set_image"

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        name, ns = self._target(params)
        image, container = str(need(params, "image")), params.get("container")
        apps = self._apps(ctx, params)
        dep = self._read(apps, name, ns)
        containers = dep["spec"]["template"]["spec"]["containers"]
        target = next((c for c in containers if container in (None, c["name"])), None)
        if target is None:
            raise ActionError(f"container {container!r} not in {ns}/{name}", field="container")
        before = copy.deepcopy(containers)
        if not self._stamped(dep, ctx.key):
            target["image"] = image
            self._patch(apps, name, ns, ctx.key,
                        {"template": {"spec": {"containers": containers}}})
        return ActionResult(ok=True, detail=f"{ns}/{name} {target['name']} image set",
                            undo_data={**self._where(params), "spec": {
                                "template": {"spec": {"containers": before}}}})


class AbortRollout(Action):
    """Abort an Argo Rollout (status.abort=true, as `kubectl argo rollouts abort`)."""

    name = "argo.abort_rollout"
    containment: ClassVar[bool] = True
    undoable: ClassVar[bool] = True

    def _patch(self, ctx: ActionContext, params: dict[str, Any], abort: bool) -> None:
        from kubernetes import client

        api = client.CustomObjectsApi(_client(ctx, params))
        _call(api.patch_namespaced_custom_object_status, "argoproj.io", "v1alpha1",
              str(params.get("namespace", "default")), "rollouts", str(need(params, "name")),
              {"status": {"abort": abort}})

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        self._patch(ctx, params, True)  # setting abort=true twice is harmless
        return ActionResult(ok=True, detail=f"rollout {params['name']} aborted",
                            undo_data={k: params[k] for k in ("name", "namespace", "host")
                                       if k in params})

    def undo(self, ctx: ActionContext, result: ActionResult) -> ActionResult:
        self._patch(ctx, result.undo_data, False)
        return ActionResult(ok=True, detail=f"rollout {result.undo_data['name']} retried")
