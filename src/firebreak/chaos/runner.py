"""Run chaos scenarios against the world with Firebreak in the loop, and score them.

The clean phase comes first: clean traffic until the warm-up time has passed, every
deployment has its reference, and (if asked) a number of clean requests were answered; any
incident opened then is a false incident. Then the scenarios, in lanes: one lane per
deployment, lanes side by side (a flight-model fault and an assistant fault touch different
streams, monitors and guard policies), scenarios within a lane one after the other.

For each scenario: inject the fault, wait for an incident on the scenario's deployment,
then for its containment; heal the fault and wait until the monitor has judged the last
window the fault touched (so its late signals land on this incident, not the next one);
resolve the incident (its playbook undoes containment) and wait for the guard policy to be
back; read the notifications the sink received and whether the report was written.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from firebreak.chaos.scenarios import SCENARIOS, Scenario
from firebreak.chaos.tabular import DEPLOYMENT as FLIGHTS
from firebreak.chaos.traffic import Traffic
from firebreak.chaos.world import LLM_DEPLOYMENT, PROFILES, World

DEPLOYMENTS = (LLM_DEPLOYMENT, FLIGHTS)


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
    steady_state_back: bool = False  # after the heal, no alert of the deployment firing
    policy_restored: bool = False  # the guard policy was back as before once resolved
    notifications: int = 0
    report_written: bool = False
    other_incidents: list[str] = field(default_factory=list)
    passed: bool = False
    note: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per runner phase


@dataclass
class Scorecard:
    profile: str
    warmup_seconds: float
    false_incidents: list[str]
    scores: list[Score]
    traffic: dict[str, int]
    clean: dict[str, Any] = field(default_factory=dict)  # what the clean phase covered

    @property
    def passed(self) -> bool:
        return not self.false_incidents and all(s.passed for s in self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "passed": self.passed,
                "warmup_seconds": self.warmup_seconds, "false_incidents": self.false_incidents,
                "clean": self.clean, "traffic": self.traffic,
                "scenarios": [asdict(s) for s in self.scores]}


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


def _kept(world: World, incidents: list[Any]) -> list[str]:
    """Runs that changed the guard policy and keep it on resolve (`on_resolve: keep`, e.g. a
    rollback after performance degradation): why a policy is not back, when it is not."""
    from firebreak.actions.catalog import get_action
    from firebreak.store.playbooks import list_runs, list_steps

    out = []
    for inc in incidents:
        for run in list_runs(world.db, incident_id=inc.id):
            if run.definition.get("on_resolve", "keep") == "keep" and any(
                    s.status == "succeeded" and s.action and get_action(s.action).undoable
                    for s in list_steps(world.db, run.id)):
                out.append(f"{run.playbook} ({inc.category}:{inc.id})")
    return out


def _close_all(world: World, deployment: str) -> None:
    """Resolve every open incident of the deployment (its playbook undoes containment) and
    file resolved ones for post-mortem, so that they are not reopened by the next
    scenario's alerts."""
    from firebreak.store.incidents import list_incidents, update_incident

    for inc in list_incidents(world.db, deployment=deployment, limit=1000):
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


def _policy_state(world: World, deployment: str) -> dict[str, Any]:
    """The policy without its version: what the gateway enforces."""
    return {k: v for k, v in _policy_summary(world, deployment).items() if k != "version"}


def _get_policy(world: World, deployment: str) -> Any:
    from firebreak.store.policy import get_policy

    return get_policy(world.db, deployment)


def _reset_policy(world: World, deployment: str, original: Any) -> None:
    from firebreak.store.policy import update_policy

    update_policy(world.db, deployment, lambda _: original.model_copy(deep=True),
                  actor="chaos-runner", reason="reset after a scenario whose containment "
                                               "was not undone on resolve")


def _report_written(world: World, incident_id: str) -> bool:
    reports = world.handles["settings"].data_dir / "reports" / incident_id
    return any(reports.glob("report.*"))


def _last_window_end(world: World, deployment: str) -> datetime | None:
    """End of the newest window the monitor has closed (judged, signals published)."""
    from sqlalchemy import func, select

    from firebreak.store.monitor import ProfileRow

    with world.db.session() as s:
        end = s.scalar(select(func.max(ProfileRow.window_end))
                       .where(ProfileRow.deployment == deployment))
    return _aware(end) if end is not None else None


def _judged_through(world: World, deployment: str, at: datetime) -> bool:
    end = _last_window_end(world, deployment)
    return end is not None and end > at


def _firing(world: World, deployment: str) -> list[str]:
    """Alerts of the deployment still firing."""
    from sqlalchemy import select

    from firebreak.store.alerting import AlertRow

    with world.db.session() as s:
        return list(s.scalars(select(AlertRow.fingerprint).where(
            AlertRow.deployment == deployment, AlertRow.status == "firing")))


def _tail(world: World, deployment: str) -> float:
    """How long a healed fault still reaches Firebreak: labels of earlier predictions
    arrive `label_delay` later; answers in flight (a slow version) a moment later."""
    p = world.profile
    return p.label_delay + 0.5 if deployment == FLIGHTS else p.tail_seconds


def _windows_judged(world: World, deployment: str, since: datetime) -> int:
    """Windows of the deployment opened since `since` and judged against its reference.

    A window closes after its end, so one that ends after the reference was set was judged
    against it, even when it opened before: the reference is set as the last warm-up window
    closes, while the next one is already open."""
    from sqlalchemy import func, select

    from firebreak.store.monitor import ProfileRow, baseline_stamp

    stamp = baseline_stamp(world.db, deployment)
    if stamp is None:
        return 0
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).where(
            ProfileRow.deployment == deployment, ProfileRow.window_start >= since,
            ProfileRow.window_end > _aware(stamp))) or 0)


async def run_scenario(world: World, traffic: Traffic, sc: Scenario,
                       progress: Progress | None = None) -> Score:
    """Inject one fault, measure detection and containment, then heal and clean up."""
    from firebreak.store.events import EventFilter, count_events

    score = Score(sc.name, sc.title, sc.category)
    p = world.profile
    marks = [time.monotonic()]

    def phase(name: str) -> None:
        marks.append(time.monotonic())
        score.phases[name] = round(marks[-1] - marks[-2], 2)

    # A clean slate: earlier incidents must not absorb this one's alerts.
    await asyncio.to_thread(_close_all, world, sc.deployment)
    before = _policy_state(world, sc.deployment)
    original = _get_policy(world, sc.deployment)
    phase("prepare")
    onset = datetime.now(UTC)
    await sc.inject(world, traffic)
    say = progress or (lambda *_: None)
    say("injected", {"scenario": sc.name})
    wanted = (sc.category, *sc.accept)
    found = await _wait(lambda: [i for i in _incidents_since(world, onset, sc.deployment)
                                 if i.category in wanted], p.detect_timeout)
    found = found or _incidents_since(world, onset, sc.deployment)
    phase("detect")
    if found:
        inc = sorted(found, key=lambda i: i.opened_at)[0]
        detected_at = _aware(inc.opened_at)
        score.detected, score.incident_id = True, inc.id
        score.category, score.severity = inc.category, inc.severity
        score.category_right = inc.category in wanted
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
        score.note = f"no incident within {p.detect_timeout:.0f}s"
    phase("contain")
    await sc.heal(world, traffic)
    # Settle: the last window holding the fault's effects is judged (plus a moment for its
    # signals to reach the incident), so that late signals do not open the next incident.
    last = datetime.now(UTC) + timedelta(seconds=_tail(world, sc.deployment))
    await _wait(lambda: _judged_through(world, sc.deployment, last),
                _tail(world, sc.deployment) + 3 * p.window_seconds + 10)
    await asyncio.sleep(p.settle_seconds)
    # ...and the steady state is back by Firebreak's own judgement: no alert of the
    # deployment still firing. Effects can outlast the tail (answers and labels of requests
    # queued in a loaded world); an alert left firing would swallow the next scenario's
    # signals into this, resolved, incident.
    score.steady_state_back = bool(await _wait(lambda: not _firing(world, sc.deployment),
                                               4 * p.window_seconds + 10))
    phase("settle")
    if score.incident_id:
        score.other_incidents = [f"{i.category}:{i.id}" for i in
                                 _incidents_since(world, onset, sc.deployment)
                                 if i.id != score.incident_id]
    await asyncio.to_thread(_close_all, world, sc.deployment)
    score.policy_restored = bool(await _wait(
        lambda: _policy_state(world, sc.deployment) == before, 30.0))
    if not score.policy_restored:
        # The scorecard shows the undo failed; the next scenario still starts from the
        # policy this one started from, so that one failure does not spoil the next.
        _reset_policy(world, sc.deployment, original)
        kept = _kept(world, _incidents_since(world, onset, sc.deployment))
        why = f": kept by {', '.join(kept)} (on_resolve: keep)" if kept else ""
        score.note = (score.note + f" guard policy not restored on resolve{why}; reset").strip()
        await asyncio.sleep(1.0)  # the gateway polls the policy every 0.2 s
    phase("cleanup")
    if score.incident_id:  # reports are written on containment and again on resolution;
        # a loaded control plane can take tens of seconds to write one
        await _wait(lambda: _report_written(world, score.incident_id), 90.0)
        score.report_written = _report_written(world, score.incident_id)
        score.notifications = world.sink.per_incident.get(score.incident_id, 0)
    phase("report")
    score.passed = (score.detected and score.category_right and score.containment_right
                    and score.report_written)
    score.phases["total"] = round(marks[-1] - marks[0], 2)
    say("scored", asdict(score) | {"elapsed": score.phases["total"]})
    return score


async def clean_phase(world: World, traffic: Traffic, clean_requests: int = 0,
                      progress: Progress | None = None) -> dict[str, Any]:
    """Clean traffic until the warm-up time has passed, every deployment has a reference and
    `clean_requests` requests were answered; what it covered, and the incidents it opened."""
    from firebreak.chaos.scenarios import _training_batch
    from firebreak.store.monitor import baseline_stamp

    say = progress or (lambda *_: None)
    p = world.profile
    start, t0 = datetime.now(UTC), time.monotonic()
    stats0, answered0 = Counter(traffic.stats), traffic.answered()
    say("warmup", {"seconds": p.warmup_seconds, "requests": clean_requests})
    _training_batch(world, flip=0.0, trigger=0.0, seed=1)  # the reference training batch
    await asyncio.sleep(p.warmup_seconds)
    # Faults are judged against the reference: none may start before it exists.
    await _wait(lambda: all(baseline_stamp(world.db, d) for d in DEPLOYMENTS),
                10 * p.window_seconds * p.warmup_windows, every=0.5)
    reference_after = round(time.monotonic() - t0, 1)

    def answered() -> int:
        now = traffic.answered()
        return sum(now.values()) - sum(answered0.values())

    last_say = 0.0
    while answered() < clean_requests:
        if time.monotonic() - last_say > 10:
            last_say = time.monotonic()
            say("soak", {"answered": answered(), "requests": clean_requests})
        await asyncio.sleep(0.5)
    # Let the last clean windows be judged before counting incidents.
    until = datetime.now(UTC)
    await _wait(lambda: all(_judged_through(world, d, until) for d in DEPLOYMENTS),
                3 * p.window_seconds + 10)
    await asyncio.sleep(p.settle_seconds)
    now = traffic.answered()
    return {
        "seconds": round(time.monotonic() - t0, 1),
        "requests": sum(now.values()) - sum(answered0.values()),
        "chat": now["chat"] - answered0["chat"],
        "predictions": now["predict"] - answered0["predict"],
        "statuses": {k: v - stats0.get(k, 0) for k, v in traffic.stats.items()
                     if v - stats0.get(k, 0)},
        "windows_judged": {d: _windows_judged(world, d, start) for d in DEPLOYMENTS},
        "false_incidents": [f"{i.category}:{i.id}" for d in DEPLOYMENTS
                            for i in _incidents_since(world, start, d)],
        "reference_after_s": reference_after,
        "rate_per_s": round((sum(now.values()) - sum(answered0.values()))
                            / max(time.monotonic() - t0, 1e-9), 1),
        "started_at": start.isoformat(),
    }


def lanes(names: list[str]) -> list[list[int]]:
    """Scenario indexes grouped by deployment, in the order given."""
    out: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        out.setdefault(SCENARIOS[name].deployment, []).append(i)
    return list(out.values())


async def run(names: list[str], profile: str = "fast", progress: Progress | None = None,
              world: World | None = None, clean_requests: int | None = None) -> Scorecard:
    """Start the world (unless given), run the clean phase, then the scenarios in lanes."""
    own = world is None
    world = world or World(PROFILES[profile]).start()
    traffic = Traffic(world)
    say = progress or (lambda *_: None)
    task = asyncio.create_task(traffic.run())
    try:
        start = datetime.now(UTC)
        if clean_requests is None:
            clean_requests = world.profile.clean_requests
        clean = await clean_phase(world, traffic, clean_requests, say)
        false = [i.split(":", 1)[1] for i in clean["false_incidents"]]
        scores: list[Score | None] = [None] * len(names)

        async def lane(indexes: list[int]) -> None:
            for i in indexes:
                scores[i] = await run_scenario(world, traffic, SCENARIOS[names[i]], say)

        await asyncio.gather(*(lane(ix) for ix in lanes(names)))
        card = Scorecard(world.profile.name, clean["seconds"], false,
                         [s for s in scores if s is not None], dict(traffic.stats), clean)
        from firebreak.chaos.record import record_scorecard

        record_scorecard(world.db, card.to_dict(), start)  # the world's dashboard shows it
        return card
    finally:
        traffic.stop()
        await task
        if own:
            world.stop()
