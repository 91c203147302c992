"""notify.<notifier>: queue a notification through the incidents stage's durable delivery.

`notify.slack`, `notify.pagerduty`, `notify.email`, `notify.webhook`, `notify.thehive` (any
notifier the incidents stage knows). Delivery retries in the background; this action only
queues, once per `run_id:step_id`, so a repeat after a crash queues nothing new.
"""

from __future__ import annotations

from typing import Any

from firebreak.actions.base import Action, ActionContext, ActionResult
from firebreak.errors import ActionError, ValidationFailed


class Notify(Action):
    """Queue one notification (form `engineering` or `executive`) for the incident."""

    name = "notify"

    def __init__(self, notifier: str | None = None) -> None:
        self.notifier = notifier

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> ActionResult:
        try:
            from firebreak.incidents.delivery import enqueue_notification
        except ImportError as exc:
            raise ActionError(f"notifications are not available: {exc}") from exc
        notifier = self.notifier or str(params.get("notifier", ""))
        extra = {k: v for k, v in params.items() if k not in ("form", "notifier")}
        if "approval_url" in ctx.extras:
            extra.setdefault("approval_url", ctx.extras["approval_url"])
            extra.setdefault("event", "approval")
        try:
            nid = enqueue_notification(ctx.db, incident_id=ctx.incident.id, notifier=notifier,
                                       form=str(params.get("form", "engineering")),
                                       params=extra, idempotency_key=ctx.key)
        except ValidationFailed as exc:
            raise ActionError(exc.message, recoverable=False, field=exc.field) from exc
        return ActionResult(ok=True, detail=f"notification {nid} queued for {notifier}",
                            data={"notification_id": nid})
