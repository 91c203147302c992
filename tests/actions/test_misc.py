"""http.request, shell, notify.*, forensics.* against real receivers and services."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from firebreak.actions.catalog import get_action, names
from firebreak.errors import ActionError, PluginError
from firebreak.store.db import Database

from .conftest import MakeCtx


def test_every_builtin_is_registered_as_an_entry_point() -> None:
    assert set(names()) >= {
        "gateway.route", "gateway.throttle", "gateway.block", "gateway.quarantine_source",
        "gateway.guard_mode", "gateway.kill_switch", "registry.rollback", "k8s.rollout_undo",
        "k8s.scale", "k8s.set_image", "argo.abort_rollout", "notify", "forensics.snapshot",
        "forensics.report", "http.request", "shell"}
    with pytest.raises(PluginError, match="no action named 'nope'"):
        get_action("nope")


def test_http_request_is_signed_and_keyed(sdb: Database, make_ctx: MakeCtx) -> None:
    from playbooks.helpers import Receiver

    ctx = make_ctx(sdb, step_id="call")
    with Receiver() as rx:
        result = get_action("http.request").run(ctx, {"url": rx.url + "?token=hidden",
                                                      "secret": "k3y", "body": {"a": 1}})
        assert result.ok and "hidden" not in result.detail
        headers, body = rx.headers[0], rx.bodies[0]
        assert headers["Idempotency-Key"] == f"{ctx.run_id}:call"
        raw = json.dumps(body, separators=(",", ":")).encode()
        good = "sha256=" + hmac.new(b"k3y", raw, hashlib.sha256).hexdigest()
        assert headers["X-Firebreak-Signature"] == good
        assert body["body"] == {"a": 1} and body["incident_id"] == ctx.incident.id
    with Receiver(fail_first=1) as rx:
        failed = get_action("http.request").run(ctx, {"url": rx.url})
        assert not failed.ok and failed.recoverable
    down = get_action("http.request").run(ctx, {"url": "http://127.0.0.1:9/x", "timeout": 1})
    assert not down.ok and down.recoverable


def test_shell_is_off_unless_allowed(sdb: Database, make_ctx: MakeCtx, tmp_path: Path) -> None:
    ctx = make_ctx(sdb, step_id="sh")
    out = tmp_path / "out.txt"
    argv = [sys.executable, "-c", "import os,sys; open(sys.argv[1],'w').write("
            "os.environ['FIREBREAK_IDEMPOTENCY_KEY'])", str(out)]
    with pytest.raises(ActionError, match="shell action is disabled"):
        get_action("shell").run(ctx, {"argv": argv})
    assert not out.exists()
    ctx.settings.playbooks.allow_shell = True
    assert get_action("shell").run(ctx, {"argv": argv}).ok
    assert out.read_text() == f"{ctx.run_id}:sh"


def test_notify_queues_once_per_key(sdb: Database, make_ctx: MakeCtx) -> None:
    from firebreak.store.alerting import NotificationRow

    ctx = make_ctx(sdb, step_id="page")
    ctx.extras["approval_url"] = "http://x/approve"
    action = get_action("notify.webhook")
    first = action.run(ctx, {"form": "executive", "text": "hi"})
    second = action.run(ctx, {"form": "executive", "text": "hi"})
    assert first.data == second.data
    with sdb.session() as s:
        rows = list(s.scalars(select(NotificationRow).where(
            NotificationRow.incident_id == ctx.incident.id)))
    assert len(rows) == 1 and rows[0].idempotency_key == f"{ctx.run_id}:page"
    assert rows[0].form == "executive" and rows[0].params["approval_url"] == "http://x/approve"
    with pytest.raises(ActionError, match="unknown notifier"):
        get_action("notify.carrier-pigeon").run(ctx, {})


def test_forensics_actions_call_the_service(sdb: Database, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(sdb, step_id="evidence")
    snap = get_action("forensics.snapshot").run(ctx, {"window": "5m"})
    assert snap.ok and isinstance(snap.data["evidence_ids"], list)
    report = get_action("forensics.report").run(ctx, {"formats": ["md"]})
    assert report.ok and Path(report.data["reports"]["md"]).is_file()
    with pytest.raises(ActionError, match="format"):
        get_action("forensics.report").run(ctx, {"formats": ["pdf"]})
