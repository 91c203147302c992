"""when / retry / timeout / on_failure / parallel / approval / dry-run / secrets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firebreak.config import Settings
from firebreak.playbooks import approvals, service
from firebreak.store.db import Database
from firebreak.store.incidents import timeline
from firebreak.store.playbooks import get_step, list_runs, list_steps
from firebreak.store.policy import get_policy

from .helpers import Receiver, engine_for, make_incident, settle


def _statuses(db: Database, run_id: str) -> dict[str, str]:
    return {s.step_key: s.status for s in list_steps(db, run_id)}


async def _one_run(db: Database, settings: Settings, text: str, **incident: object) -> str:
    engine = engine_for(db, settings, text)
    inc = make_incident(db, **incident)  # type: ignore[arg-type]
    runs = await engine.start_for(inc.id)
    await settle(engine, db)
    await engine.stop()
    return runs[0].id


async def test_retry_with_backoff_until_success(sdb: Database, ssettings: Settings) -> None:
    with Receiver(fail_first=2) as rx:
        run_id = await _one_run(sdb, ssettings, f"""
name: r
steps:
  - {{id: call, action: http.request, with: {{url: "{rx.url}"}},
     retry: {{count: 3, backoff: 0.05}}}}
""")
        step = get_step(sdb, run_id, "call")
        assert step is not None and step.status == "succeeded" and step.attempt == 3
        assert rx.deliveries[f"{run_id}:call"] == 3 and rx.effects[f"{run_id}:call"] == 1


async def test_on_failure_continue_abort_and_goto(sdb: Database, ssettings: Settings) -> None:
    dead = "http://127.0.0.1:9/unreachable"
    with Receiver() as rx:
        run_id = await _one_run(sdb, ssettings, f"""
name: f
steps:
  - {{id: a, action: http.request, with: {{url: "{dead}", timeout: 0.5}}, on_failure: continue}}
  - {{id: b, action: gateway.guard_mode, with: {{mode: bogus}}, on_failure: {{goto: d}}}}
  - {{id: c, action: http.request, with: {{url: "{rx.url}"}}}}
  - {{id: d, action: http.request, with: {{url: "{rx.url}"}}}}
  - {{id: e, action: gateway.guard_mode, with: {{}}}}
  - {{id: never, action: http.request, with: {{url: "{rx.url}"}}}}
""")
        assert _statuses(sdb, run_id) == {"a": "failed", "b": "failed", "d": "succeeded",
                                          "e": "failed"}
        assert list_runs(sdb)[0].status == "aborted"
        assert "mode must be monitor, block or strict" in (get_step(sdb, run_id, "b").error)  # type: ignore[union-attr]


async def test_timeout_fails_a_slow_step(sdb: Database, ssettings: Settings) -> None:
    with Receiver(delay=1.5) as rx:
        run_id = await _one_run(sdb, ssettings, f"""
name: t
steps:
  - {{id: slow, action: http.request, with: {{url: "{rx.url}"}}, timeout: 0.3}}
""")
        step = get_step(sdb, run_id, "slow")
        assert step is not None and step.status == "failed"
        assert "timed out after 0.3s" in step.error


async def test_parallel_group_runs_together(sdb: Database, ssettings: Settings) -> None:
    with Receiver(delay=0.4) as rx:
        engine = engine_for(sdb, ssettings, f"""
name: p
steps:
  - id: both
    parallel:
      - {{id: x, action: http.request, with: {{url: "{rx.url}"}}}}
      - {{id: y, action: http.request, with: {{url: "{rx.url}"}}}}
      - {{id: z, action: http.request, with: {{url: "{rx.url}"}}}}
""")
        inc = make_incident(sdb)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        runs = await engine.start_for(inc.id)
        await settle(engine, sdb)
        elapsed = loop.time() - t0
        assert _statuses(sdb, runs[0].id) == {"x": "succeeded", "y": "succeeded",
                                              "z": "succeeded"}
        assert elapsed < 1.1  # three 0.4 s calls at once, not one after another


APPROVAL = """
name: a
steps:
  - {{id: gate, approval: {{role: ml-oncall, timeout: {timeout}, on_timeout: {on_timeout}}}}}
  - {{id: act, action: gateway.kill_switch, with: {{enabled: true}}}}
"""


@pytest.mark.parametrize(("decision", "expected"), [("approve", "succeeded"),
                                                    ("deny", "aborted")])
async def test_approval_decided(sdb: Database, ssettings: Settings, decision: str,
                                expected: str) -> None:
    engine = engine_for(sdb, ssettings, APPROVAL.format(timeout="1h", on_timeout="abort"))
    inc = make_incident(sdb)
    run = (await engine.start_for(inc.id))[0]
    for _ in range(100):
        step = get_step(sdb, run.id, "gate")
        if step is not None and step.status == "waiting":
            break
        await asyncio.sleep(0.05)
    assert list_runs(sdb)[0].status == "waiting"
    service.decide(sdb, run.id, "gate", approve=decision == "approve", actor="alice")
    await settle(engine, sdb)
    assert list_runs(sdb)[0].status == expected
    assert get_policy(sdb, "chatbot").kill_switch is (decision == "approve")
    word = "approved" if decision == "approve" else "denied"
    assert any(f"gate {word} by alice" in e.message
               for e in timeline(sdb, inc.id))


@pytest.mark.parametrize(("on_timeout", "expected"), [("proceed", "succeeded"),
                                                      ("abort", "aborted")])
async def test_approval_timeout(sdb: Database, ssettings: Settings, on_timeout: str,
                                expected: str) -> None:
    run_id = await _one_run(sdb, ssettings, APPROVAL.format(timeout=0.3, on_timeout=on_timeout))
    assert list_runs(sdb)[0].status == expected
    assert get_step(sdb, run_id, "gate").status == "timed_out"  # type: ignore[union-attr]


def test_signed_link_checks(ssettings: Settings) -> None:
    url = approvals.link(ssettings, "run-1", "gate", now=1000.0)
    query = dict(p.split("=") for p in url.split("?")[1].split("&"))
    exp, sig = int(query["expires"]), query["sig"]
    assert approvals.verify(ssettings, "run-1", "gate", "approve", exp, sig, now=1000) is None
    assert "expired" in approvals.verify(ssettings, "run-1", "gate", "approve", exp, sig,
                                         now=exp + 1)  # type: ignore[operator]
    assert "signature" in approvals.verify(ssettings, "run-1", "other", "approve", exp, sig,
                                           now=1000)  # type: ignore[operator]
    assert "signature" in approvals.verify(ssettings, "run-1", "gate", "deny", exp, sig,
                                           now=1000)  # type: ignore[operator]


async def test_dry_run_records_and_acts_on_nothing(sdb: Database, ssettings: Settings) -> None:
    ssettings.playbooks.dry_run = True
    with Receiver() as rx:
        run_id = await _one_run(sdb, ssettings, f"""
name: d
steps:
  - {{id: block, action: gateway.block, with: {{api_keys: "{{{{ facts.k }}}}"}}}}
  - {{id: gate, approval: {{role: x}}}}
  - {{id: call, action: http.request, with: {{url: "{rx.url}"}}}}
""", facts={"k": "abc"})
        assert set(_statuses(sdb, run_id).values()) == {"dry_run"}
        assert get_step(sdb, run_id, "block").params == {"api_keys": "abc"}  # type: ignore[union-attr]
        assert get_policy(sdb, "chatbot").version == 0 and not rx.deliveries
        assert list_runs(sdb)[0].status == "dry_run"


async def test_secrets_resolve_but_never_reach_records(sdb: Database, ssettings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("FIREBREAK_SECRET_HOOK_TOKEN", "s3cr3t-value")
    with Receiver() as rx:
        run_id = await _one_run(sdb, ssettings, f"""
name: s
steps:
  - id: call
    action: http.request
    with: {{url: "{rx.url}", secret: "secret:hook-token",
            headers: {{X-Token: "secret:hook-token"}}}}
  - id: sneaky
    action: http.request
    with: {{url: "{rx.url}", secret: "secret:{{{{ facts.name }}}}"}}
""", facts={"name": "hook-token"})
        assert rx.headers[0]["X-Token"] == "s3cr3t-value"  # resolved at call time
        from firebreak.actions.http import sign
        assert rx.headers[0]["X-Firebreak-Signature"].startswith("sha256=")
        assert sign(b"x", "s3cr3t-value") != sign(b"x", "other")
        steps = {s.step_key: s for s in list_steps(sdb, run_id)}
        assert steps["sneaky"].status == "failed"
        assert "may not produce a secret reference" in steps["sneaky"].error
        text = repr([s.model_dump() for s in steps.values()]) + repr(
            [e.model_dump() for e in timeline(sdb, list_runs(sdb)[0].incident_id)])
        assert "s3cr3t-value" not in text and "secret:hook-token" in text


async def test_sandbox_refuses_host_access(sdb: Database, ssettings: Settings) -> None:
    run_id = await _one_run(sdb, ssettings, """
name: x
steps:
  - id: escape
    action: gateway.guard_mode
    with: {mode: "{{ incident.__class__.__mro__[1].__subclasses__() }}"}
  - {id: mutate, action: gateway.guard_mode, with: {mode: "{{ facts.update({'a': 1}) }}"},
     on_failure: continue}
""")
    steps = {s.step_key: s for s in list_steps(sdb, run_id)}
    assert steps["escape"].status == "failed" and "template failed" in steps["escape"].error
    assert get_policy(sdb, "chatbot").version == 0
