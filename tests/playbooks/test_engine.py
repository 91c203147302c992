"""The engine on real databases: steps, when, retry, timeout, on_failure, parallel, undo."""

from __future__ import annotations

from firebreak.config import Settings
from firebreak.store.db import Database
from firebreak.store.incidents import get_incident, timeline
from firebreak.store.playbooks import list_runs, list_steps
from firebreak.store.policy import get_policy, policy_changes

from .helpers import Receiver, engine_for, make_incident, settle


def _pb(url: str) -> str:
    return f"""
name: contain
match: {{category: prompt_injection}}
steps:
  - id: block
    action: gateway.block
    with: {{api_keys: "{{{{ facts.top_api_keys }}}}", ttl: 1h}}
  - id: strict
    action: gateway.guard_mode
    with: {{mode: strict}}
  - id: skipped
    action: http.request
    when: "incident.severity == 'SEV1'"
    with: {{url: "{url}"}}
  - id: tell
    action: http.request
    with: {{url: "{url}", body: {{keys: "{{{{ facts.top_api_keys }}}}"}}}}
on_resolve: undo
"""


async def test_run_contains_and_records_everything(db: Database, settings: Settings) -> None:
    with Receiver() as rx:
        engine = engine_for(db, settings, _pb(rx.url))
        inc = make_incident(db, facts={"top_api_keys": "k1,k2"})
        original = get_policy(db, "chatbot")
        runs = await engine.start_for(inc.id)
        await settle(engine, db)
        assert [r.status for r in list_runs(db, incident_id=inc.id)] == ["succeeded"]
        steps = {s.step_key: s for s in list_steps(db, runs[0].id)}
        assert steps["skipped"].status == "skipped"
        assert steps["block"].status == steps["tell"].status == "succeeded"
        policy = get_policy(db, "chatbot")
        assert {b.value for b in policy.blocked_api_keys} == {"k1", "k2"}
        assert policy.mode == "strict"
        assert get_incident(db, inc.id).status == "contained"
        assert rx.bodies[0]["body"] == {"keys": "k1,k2"}
        assert rx.headers[0]["Idempotency-Key"] == f"{runs[0].id}:tell"
        actions = [e for e in timeline(db, inc.id) if e.kind == "action"]
        assert len(actions) == 2 * 3 + 1  # intent + outcome for 3 steps, one skip
        # Resolving undoes containment in reverse order and restores the policy exactly.
        await engine.on_change(inc.id, "resolved")
        await settle(engine, db)
        assert list_runs(db, incident_id=inc.id)[0].status == "compensated"
        restored = get_policy(db, "chatbot")
        assert restored.model_dump(exclude={"version", "updated_at"}) == original.model_dump(
            exclude={"version", "updated_at"})
        reasons = [c["reason"] for c in reversed(policy_changes(db, incident_id=inc.id))]
        assert [r.split(" [")[0] for r in reasons] == [
            "gateway.block", "gateway.guard_mode", "undo gateway.guard_mode",
            "undo gateway.block"]
        await engine.stop()


async def test_undo_does_not_wait_for_a_running_step_with_nothing_to_undo(
        db: Database, settings: Settings) -> None:
    """A slow notification still in flight when the incident resolves: the guard policy is
    put back at once, and the notification finishes and is recorded on its own."""
    import asyncio
    import time

    with Receiver(delay=3.0) as rx:
        engine = engine_for(db, settings, f"""
name: contain
match: {{category: prompt_injection}}
steps:
  - id: strict
    action: gateway.guard_mode
    with: {{mode: strict}}
  - id: tell
    action: http.request
    with: {{url: "{rx.url}"}}
    timeout: 10s
on_resolve: undo
""")
        inc = make_incident(db)
        original = get_policy(db, "chatbot").mode
        runs = await engine.start_for(inc.id)
        await asyncio.to_thread(rx.arrived.wait, 5.0)  # the slow step is running
        assert get_policy(db, "chatbot").mode == "strict"
        started = time.monotonic()
        await engine.on_change(inc.id, "resolved")
        await settle(engine, db)
        assert time.monotonic() - started < 2.0, "undo waited for the notification"
        assert list_runs(db, incident_id=inc.id)[0].status == "compensated"
        assert get_policy(db, "chatbot").mode == original
        for _ in range(100):  # the notification completes and its outcome is recorded
            steps = {s.step_key: s.status for s in list_steps(db, runs[0].id)}
            if steps.get("tell") == "succeeded":
                break
            await asyncio.sleep(0.1)
        assert steps["tell"] == "succeeded" and rx.effects
        await engine.stop()


async def test_reclassified_incident_undoes_the_symptoms_playbook(
        db: Database, settings: Settings) -> None:
    """Opened as a generic symptom, then re-classified: the symptom's containment (kept on
    resolve by its playbook) is undone now, and the diagnosis's playbook takes over."""
    from firebreak.store.incidents import update_incident

    engine = engine_for(db, settings, """
name: symptom
match: {category: performance_degradation}
steps:
  - {id: strict, action: gateway.guard_mode, with: {mode: strict}}
on_resolve: keep
""", """
name: diagnosis
match: {category: hallucination}
steps:
  - {id: block, action: gateway.guard_mode, with: {mode: block}}
on_resolve: undo
""")
    inc = make_incident(db, category="performance_degradation")
    original = get_policy(db, "chatbot").mode
    await engine.start_for(inc.id)
    await settle(engine, db)
    assert get_policy(db, "chatbot").mode == "strict"
    update_incident(db, inc.id, actor="test", message="re-classified", kind="category",
                    category="hallucination")
    await engine.on_change(inc.id, "category")
    await settle(engine, db)
    runs = {r.playbook: r.status for r in list_runs(db, incident_id=inc.id)}
    assert runs == {"symptom": "compensated", "diagnosis": "succeeded"}
    assert get_policy(db, "chatbot").mode == "block"
    await engine.on_change(inc.id, "resolved")
    await settle(engine, db)
    assert get_policy(db, "chatbot").mode == original
    await engine.stop()
