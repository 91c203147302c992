"""Run chaos scenarios against the world with Firebreak in the loop, and score them.

For each scenario: inject the fault, wait for an incident on the scenario's deployment,
then for its containment; read the notifications the sink received and whether the report
was written; heal the fault, resolve the incident (its playbook undoes containment) and let
the world settle before the next one. The warm-up before the first scenario is clean
traffic: any incident opened then is a false incident.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from firebreak.chaos.scenarios import SCENARIOS, Scenario
from firebreak.chaos.traffic import Traffic
from firebreak.chaos.world import PROFILES, World


@dataclass
class Score:
    """One scenario's scorecard row."""

    scenario: str
    title: str
    expected_category: str
    detected: bool = False
    incident_id: str | None = None
    category: str | None = None
    category_right: bool = False
    severity: str | None = None
    time_to_detect_s: float | None = None
    events_to_detect: int | None = None
    time_to_contain_s: float | None = None
    contained: bool = False
    containment_right: bool = False
    actions: list[str] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)  # guard policy once contained
    notifications: int = 0
    report_written: bool = False
    other_incidents: list[str] = field(default_factory=list)
    passed: bool = False
    note: str = ""


@dataclass
class Scorecard:
    profile: str
    warmup_seconds: float
    false_incidents: list[str]
    scores: list[Score]
    traffic: dict[str, int]

    @property
    def passed(self) -> bool:
        return not self.false_incidents and all(s.passed for s in self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "passed": self.passed,
                "warmup_seconds": self.warmup_seconds, "false_incidents": self.false_incidents,
                "traffic": self.traffic, "scenarios": [asdict(s) for s in self.scores]}


Progress = Callable[[str, dict[str, Any]], None]


async def _wait(predicate: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(every)
    return None


def _incidents_since(world: World, since: datetime, deployment: str) -> list[Any]:
    from firebreak.store.incidents import list_incidents

    return [i for i in list_incidents(world.db, deployment=deployment)
            if _aware(i.opened_at) >= since]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _succeeded_actions(world: World, incident_id: str) -> list[tuple[str, datetime]]:
    from firebreak.store.playbooks import list_runs, list_steps

    out = []
    for run in list_runs(world.db, incident_id=incident_id):
        for step in list_steps(world.db, run.id):
            if step.action and step.status in ("succeeded", "done", "ok") and step.outcome_at:
                out.append((step.action, _aware(step.outcome_at)))
    return sorted(out, key=lambda a: a[1])


def _close_all(world: World) -> None:
    """Resolve every open incident (its playbook undoes containment) and file resolved ones
    for post-mortem, so that they are not reopened by the next scenario's alerts."""
    from firebreak.store.incidents import list_incidents, update_incident

    for inc in list_incidents(world.db, limit=1000):
        if inc.status in ("detected", "triaged", "contained"):
            _resolve(world, inc.id)
        elif inc.status == "resolved":
            update_incident(world.db, inc.id, actor="chaos", status="postmortem",
                            message="filed for post-mortem by the chaos runner")


def _resolve(world: World, incident_id: str) -> None:
    """Resolve through the control plane, so its playbooks undo the containment."""
    import httpx

    resp = httpx.post(f"{world.url('control')}/v1/incidents/{incident_id}/resolve",
                      headers={"Authorization": f"Bearer {world.token}"},
                      json={"actor": "chaos-runner"}, timeout=30)
    if resp.status_code not in (200, 409):  # 409: it was resolved meanwhile
        resp.raise_for_status()


def _policy_summary(world: World, deployment: str) -> dict[str, Any]:
    from firebreak.store.policy import get_policy

    p = get_policy(world.db, deployment)
    return {"version": p.version, "mode": p.mode, "kill_switch": p.kill_switch,
            "blocked_api_keys": [b.value for b in p.blocked_api_keys],
            "blocked_users": [b.value for b in p.blocked_users],
            "quarantined_sources": [b.value for b in p.quarantined_sources],
            "rate_limits": [r.model_dump(mode="json") for r in p.rate_limits],
            "routes": [r.model_dump(mode="json") for r in p.routes]}


def _report_written(world: World, incident_id: str) -> bool:
    reports = world.handles["settings"].data_dir / "reports" / incident_id
    return any(reports.glob("report.*"))


async def run_scenario(world: World, traffic: Traffic, sc: Scenario,
                       progress: Progress | None = None) -> Score:
    """Inject one fault, measure detection and containment, then heal and clean up."""
    from firebreak.store.events import EventFilter, count_events

    score = Score(sc.name, sc.title, sc.category)
    _close_all(world)  # a clean slate: earlier incidents must not absorb this one's alerts
    onset, t0 = datetime.now(UTC), time.monotonic()
    await sc.inject(world, traffic)
    say = progress or (lambda *_: None)
    say("injected", {"scenario": sc.name})
    wanted = (sc.category, *sc.accept)
    found = await _wait(lambda: [i for i in _incidents_since(world, onset, sc.deployment)
                                 if i.category in wanted], world.profile.detect_timeout)
    found = found or _incidents_since(world, onset, sc.deployment)
    if found:
        inc = sorted(found, key=lambda i: i.opened_at)[0]
        score.other_incidents = [f"{i.category}:{i.id}" for i in
                                 _incidents_since(world, onset, sc.deployment) if i.id != inc.id]
        detected_at = _aware(inc.opened_at)
        score.detected, score.incident_id = True, inc.id
        score.category, score.severity = inc.category, inc.severity
        score.category_right = inc.category in (sc.category, *sc.accept)
        score.time_to_detect_s = round((detected_at - onset).total_seconds(), 2)
        score.events_to_detect = count_events(world.db, EventFilter(
            deployment=sc.deployment, since=onset, until=detected_at))
        say("detected", {"scenario": sc.name, "incident": inc.id, "category": inc.category})
        actions = await _wait(lambda: [a for a in _succeeded_actions(world, inc.id)
                                       if a[0] in sc.containment], 15.0)
        if actions:
            score.contained = True
            score.time_to_contain_s = round((actions[0][1] - detected_at).total_seconds(), 2)
        score.actions = [a for a, _ in _succeeded_actions(world, inc.id)]
        score.policy = _policy_summary(world, sc.deployment)
        score.containment_right = set(sc.containment) <= set(score.actions)
    else:
        score.note = f"no incident within {world.profile.detect_timeout:.0f}s"
    await sc.heal(world, traffic)
    await asyncio.sleep(world.profile.settle_seconds)
    _close_all(world)
    if score.incident_id:  # reports are written on containment and again on resolution
        await _wait(lambda: _report_written(world, score.incident_id), 30.0)
        score.report_written = _report_written(world, score.incident_id)
        score.notifications = world.sink.per_incident.get(score.incident_id, 0)
    score.passed = (score.detected and score.category_right and score.containment_right
                    and score.report_written)
    say("scored", asdict(score) | {"elapsed": round(time.monotonic() - t0, 1)})
    return score


async def run(names: list[str], profile: str = "fast", progress: Progress | None = None,
              world: World | None = None) -> Scorecard:
    """Start the world (unless given), warm up on clean traffic, run the scenarios."""
    own = world is None
    world = world or World(PROFILES[profile]).start()
    traffic = Traffic(world)
    say = progress or (lambda *_: None)
    task = asyncio.create_task(traffic.run())
    try:
        start = datetime.now(UTC)
        say("warmup", {"seconds": world.profile.warmup_seconds})
        from firebreak.chaos.scenarios import _training_batch

        _training_batch(world, flip=0.0, trigger=0.0, seed=1)  # the reference training batch
        await asyncio.sleep(world.profile.warmup_seconds)
        false = [i.id for d in ("support-bot", "flight-delay") for i in _incidents_since(world, start, d)]
        scores = [await run_scenario(world, traffic, SCENARIOS[n], say) for n in names]
        card = Scorecard(world.profile.name, world.profile.warmup_seconds, false, scores,
                         dict(traffic.stats))
        from firebreak.chaos.record import record_scorecard

        record_scorecard(world.db, card.to_dict(), start)  # the world's dashboard shows it
        return card
    finally:
        traffic.stop()
        await task
        if own:
            world.stop()
