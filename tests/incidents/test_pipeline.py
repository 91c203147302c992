"""Alerts into incidents: dedup, correlation, reopen, grading, silences, inhibition, flapping.

Runs on SQLite and PostgreSQL with a fake clock; the scheduler is ticked by hand.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from firebreak.config import Settings
from firebreak.incidents.observations import from_signal
from firebreak.incidents.pipeline import Pipeline
from firebreak.incidents.scheduler import Scheduler
from firebreak.incidents.silences import create_silence, expire_silence, parse_matcher
from firebreak.store.db import Database
from firebreak.store.incidents import list_incidents, timeline

from .conftest import FakeClock, settings_for, signal

ROUTE = [{"notifier": "webhook"}]


def make(db: Database, clock: FakeClock, settings: Settings) -> tuple[Pipeline, Scheduler]:
    pipe = Pipeline(db, settings.incidents, clock)
    return pipe, Scheduler(db, settings.incidents, settings.notifiers, pipe, clock)


def queued(db: Database) -> list[dict]:
    from firebreak.incidents.delivery import list_notifications

    return list(reversed(list_notifications(db)))


def test_flapping_signal_yields_one_incident_and_bounded_notifications(
        db: Database, clock: FakeClock) -> None:
    settings = settings_for(db.url, routes=ROUTE)
    pipe, sched = make(db, clock, settings)
    start = clock()
    for _ in range(20):  # fires and clears 20 times in 5 minutes
        for status in ("firing", "resolved"):
            pipe.observe(from_signal(signal(status, ts=clock())))
            sched.tick()
            clock.advance(7.5)
    assert clock() - start == timedelta(minutes=5)
    incidents = list_incidents(db)
    assert len(incidents) == 1 and incidents[0].status == "detected"
    inc = incidents[0]
    kinds = [e.kind for e in timeline(db, inc.id)]
    assert kinds.count("alert") == 40  # every state change is on the timeline
    cfg = settings.incidents
    bound = 1 + int((300 - cfg.group_wait_seconds) // cfg.group_interval_seconds)
    sent = queued(db)
    assert 1 <= len(sent) <= bound
    assert sent[0]["params"]["event"] == "opened"


def test_related_categories_join_unrelated_open_another(db: Database, clock: FakeClock) -> None:
    pipe, _ = make(db, clock, settings_for(db.url))
    first = pipe.observe(from_signal(signal(category="prompt_injection", ts=clock())))
    clock.advance(60)
    joined = pipe.observe(from_signal(signal(category="jailbreak", ts=clock())))
    other = pipe.observe(from_signal(signal(category="data_drift", ts=clock())))
    elsewhere = pipe.observe(from_signal(signal(category="jailbreak", deployment="b2",
                                                ts=clock())))
    assert [c["change"] for c in first] == ["opened"]
    assert joined == []  # no new incident: the jailbreak alert joined the injection one
    assert [c["change"] for c in other] == ["opened"]
    assert [c["change"] for c in elsewhere] == ["opened"]
    incs = {(i.deployment, i.category): i for i in list_incidents(db)}
    assert len(incs) == 3
    inj = incs[("bot", "prompt_injection")]
    assert inj.labels["categories"] == ["prompt_injection", "jailbreak"]
    assert inj.taxonomy["owasp"] == ["LLM01:2025"] and "MANAGE" in inj.taxonomy["nist_functions"]


def test_a_diagnosis_reclassifies_a_symptom_incident(db: Database, clock: FakeClock) -> None:
    pipe, _ = make(db, clock, settings_for(db.url))
    pipe.observe(from_signal(signal(category="performance_degradation", ts=clock())))
    clock.advance(5)
    changes = pipe.observe(from_signal(signal(category="hallucination", ts=clock())))
    [inc] = list_incidents(db)
    assert [c["change"] for c in changes] == ["category"]
    assert inc.category == "hallucination" and inc.taxonomy["owasp"] == ["LLM09:2025"]
    assert inc.title.startswith("Hallucination on bot")
    assert inc.labels["categories"] == ["performance_degradation", "hallucination"]
    assert any("re-classified as hallucination (was performance_degradation)" in t.message
               for t in timeline(db, inc.id))
    # A symptom joining a diagnosis does not undo it.
    clock.advance(5)
    assert pipe.observe(from_signal(signal(category="data_drift", ts=clock()))) == []
    [inc] = list_incidents(db)
    assert inc.category == "hallucination"


def test_outside_the_window_opens_a_new_incident(db: Database, clock: FakeClock) -> None:
    settings = settings_for(db.url, incidents={"correlation_window_seconds": 600})
    pipe, _ = make(db, clock, settings)
    pipe.observe(from_signal(signal(category="prompt_injection", ts=clock())))
    clock.advance(601)
    again = pipe.observe(from_signal(signal(category="jailbreak", ts=clock())))
    assert [c["change"] for c in again] == ["opened"]


def test_auto_resolve_then_reopen_within_window(db: Database, clock: FakeClock) -> None:
    settings = settings_for(db.url, incidents={"auto_resolve_after_seconds": 60,
                                               "reopen_window_seconds": 600})
    pipe, sched = make(db, clock, settings)
    pipe.observe(from_signal(signal(ts=clock())))
    clock.advance(10)
    pipe.observe(from_signal(signal("resolved", ts=clock())))
    clock.advance(30)
    assert sched.tick()[0] == []  # not quiet long enough yet
    clock.advance(31)
    changes, _ = sched.tick()
    assert [c["change"] for c in changes] == ["resolved"]
    (inc,) = list_incidents(db)
    assert inc.status == "resolved" and inc.resolved_at is not None
    clock.advance(120)
    changes = pipe.observe(from_signal(signal(ts=clock())))
    assert [c["change"] for c in changes] == ["reopened"]
    (inc,) = list_incidents(db)
    assert inc.status == "detected" and inc.resolved_at is None
    clock.advance(3600)  # after the reopen window a recurrence is a new incident
    pipe.observe(from_signal(signal("resolved", ts=clock())))
    clock.advance(61)
    sched.tick()
    clock.advance(700)
    assert [c["change"] for c in pipe.observe(from_signal(signal(ts=clock())))] == ["opened"]
    assert len(list_incidents(db)) == 2


def test_severity_regraded_as_incident_grows_and_recorded(db: Database,
                                                          clock: FakeClock) -> None:
    pipe, _ = make(db, clock, settings_for(db.url))
    pipe.observe(from_signal(signal(category="prompt_injection", share=0.01, ts=clock())))
    (inc,) = list_incidents(db)
    assert inc.severity == "SEV2"
    changes = pipe.observe(from_signal(signal(category="prompt_injection", share=0.4,
                                              ts=clock())))
    assert {"incident_id": inc.id, "change": "severity"} in changes
    (inc,) = list_incidents(db)
    assert inc.severity == "SEV1" and inc.facts["traffic_share"] == 0.4
    entries = [e for e in timeline(db, inc.id) if e.kind == "severity"]
    assert [e.message.split(":")[0] for e in entries] == ["graded SEV2", "severity SEV2 → SEV1"]


def test_silence_suppresses_notifications_but_keeps_timeline(db: Database,
                                                            clock: FakeClock) -> None:
    settings = settings_for(db.url, routes=ROUTE)
    pipe, sched = make(db, clock, settings)
    sil = create_silence(db, matchers=[parse_matcher("deployment=bot"),
                                       parse_matcher("category=~hallucination|data_drift")],
                         created_by="alice", duration=timedelta(hours=1), now=clock())
    pipe.observe(from_signal(signal(ts=clock())))
    for _ in range(5):
        clock.advance(60)
        sched.tick()
    assert queued(db) == []
    (inc,) = list_incidents(db)
    entries = timeline(db, inc.id)
    alert = [e for e in entries if e.kind == "alert"]
    assert alert and alert[0].data["silenced"] == sil.id
    assert any(e.kind == "notify" and "suppressed" in e.message for e in entries)
    expire_silence(db, sil.id, now=clock())
    sched.tick()
    assert [n["params"]["event"] for n in queued(db)] == ["opened"]


def test_inhibited_alert_does_not_notify(db: Database, clock: FakeClock) -> None:
    settings = settings_for(db.url, routes=ROUTE)
    pipe, sched = make(db, clock, settings)
    pipe.observe(from_signal(signal(category="availability", ts=clock(), metric="up")))
    pipe.observe(from_signal(signal(category="data_drift", ts=clock())))
    clock.advance(60)
    sched.tick()
    by_cat = {i.category: i for i in list_incidents(db)}
    notified = {n["incident_id"] for n in queued(db)}
    assert notified == {by_cat["availability"].id}  # the drift alert is inhibited
    drift_alert = [e for e in timeline(db, by_cat["data_drift"].id) if e.kind == "alert"][0]
    assert drift_alert.data["inhibited"] == "inhibit_rules[0]"
    # The same drift on another deployment is not inhibited.
    pipe.observe(from_signal(signal(category="data_drift", deployment="other", ts=clock())))
    clock.advance(60)
    sched.tick()
    assert len({n["incident_id"] for n in queued(db)}) == 2


@pytest.mark.parametrize("event_count", [3])
def test_repeat_and_resolution_notifications(db: Database, clock: FakeClock,
                                             event_count: int) -> None:
    settings = settings_for(db.url, routes=ROUTE, incidents={
        "group_wait_seconds": 10, "repeat_interval_seconds": 600,
        "auto_resolve_after_seconds": 30})
    pipe, sched = make(db, clock, settings)
    pipe.observe(from_signal(signal(ts=clock())))
    sched.tick()
    assert queued(db) == []  # group_wait not over
    clock.advance(10)
    sched.tick()
    sched.tick()  # a second tick at the same moment queues nothing twice
    clock.advance(600)
    sched.tick()
    pipe.observe(from_signal(signal("resolved", ts=clock())))
    clock.advance(31)
    sched.tick()
    assert [n["params"]["event"] for n in queued(db)] == ["opened", "repeat", "resolved"]
    assert len(queued(db)) == event_count
