"""registry.rollback: move an MLflow model-registry alias back to the previous version.

Extra `mlflow`. The tracking server comes from the step's `tracking_uri`, else settings
`plugins.mlflow.tracking_uri`, else MLFLOW_TRACKING_URI. The move is recorded as a tag on
the registered model, `firebreak.<alias>.moved = <key>|<from>|<to>`, so a repeated call
with the same idempotency key does not move the alias a second time. Undo points the alias
back at the version it had.
"""

from __future__ import annotations

from typing import Any, ClassVar

from firebreak.actions.base import Action, ActionContext, ActionResult, need
from firebreak.errors import ActionError, MissingDependency


def _client(ctx: ActionContext, params: dict[str, Any]) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise MissingDependency("mlflow", "mlflow") from exc
    uri = params.get("tracking_uri") or ctx.settings.plugins.get("mlflow", {}).get(
        "tracking_uri")
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return fn(*args, **kwargs)
    except MlflowException as exc:
        transient = getattr(exc, "error_code", "") in ("TEMPORARILY_UNAVAILABLE",
                                                       "INTERNAL_ERROR")
        raise ActionError(f"MLflow: {exc.message}", recoverable=transient) from exc


class Rollback(Action):
    """Point `alias` (default champion) of `model` at the previous (or a given) version."""

    name = "registry.rollback"
    containment: ClassVar[bool] = True
    undoable: ClassVar[bool] = True

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        model, alias = str(need(params, "model")), str(params.get("alias", "champion"))
        client = _client(ctx, params)
        tag = f"firebreak.{alias}.moved"
        tags = _call(client.get_registered_model, model).tags or {}
        if str(tags.get(tag, "")).startswith(ctx.key + "|"):
            _, before, after = tags[tag].split("|")
        else:
            before = str(_call(client.get_model_version_by_alias, model, alias).version)
            after = str(params.get("to_version") or self._previous(client, model, before))
            _call(client.set_registered_model_alias, model, alias, after)
            _call(client.set_registered_model_tag, model, tag, f"{ctx.key}|{before}|{after}")
        return ActionResult(ok=True, detail=f"{model}@{alias}: version {before} -> {after}",
                            data={"from": before, "to": after},
                            undo_data={"model": model, "alias": alias, "version": before,
                                       "tracking_uri": params.get("tracking_uri")})

    def _previous(self, client: Any, model: str, current: str) -> str:
        versions = _call(client.search_model_versions, f"name='{model}'")
        older = sorted(int(v.version) for v in versions if int(v.version) < int(current))
        if not older:
            raise ActionError(f"{model} has no version before {current} to roll back to",
                              recoverable=False)
        return str(older[-1])

    def undo(self, ctx: ActionContext, result: ActionResult) -> ActionResult:
        u = result.undo_data
        client = _client(ctx, u)
        _call(client.set_registered_model_alias, u["model"], u["alias"], u["version"])
        return ActionResult(ok=True, detail=f"{u['model']}@{u['alias']} back to {u['version']}")
