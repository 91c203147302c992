"""Properties of the pure parts: backoff stays bounded, decide never over-notifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from firebreak.config import IncidentSettings, NotifierSettings
from firebreak.incidents.alerting import GroupView, decide, inhibited_by, state_key
from firebreak.incidents.delivery import backoff
from firebreak.incidents.silences import parse_matcher

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.floats(0.01, 60), st.floats(1, 3600), st.integers(1, 500))
def test_backoff_is_positive_monotonic_and_capped(initial: float, cap: float, n: int) -> None:
    s = NotifierSettings(backoff_initial_seconds=initial, backoff_max_seconds=cap)
    assert 0 < backoff(s, n) <= max(cap, 0)
    assert backoff(s, n) <= backoff(s, n + 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 120)), min_size=1, max_size=80))
def test_decide_respects_group_wait_and_interval(steps: list[tuple[bool, int]]) -> None:
    cfg = IncidentSettings(group_wait_seconds=30, group_interval_seconds=300,
                           repeat_interval_seconds=3600)
    now, last_at, last_key, sent = T0, None, None, []
    for firing, gap in steps:
        key = state_key("detected", "SEV3", ["fp"] if firing else [])
        view = GroupView(T0, "detected", key, int(firing), 0, last_at, last_key)
        if decide(view, now, cfg):
            sent.append(now)
            last_at, last_key = now, key
        now += timedelta(seconds=gap)
    span = (now - T0).total_seconds()
    assert len(sent) <= 1 + span // 300
    assert all(b - a >= timedelta(seconds=300) for a, b in zip(sent, sent[1:], strict=False))
    assert not sent or sent[0] >= T0 + timedelta(seconds=30)


@given(st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
       st.from_regex(r"[a-z0-9-]{1,10}", fullmatch=True),
       st.sampled_from(["=", "!=", "=~", "!~"]))
def test_matcher_parse_and_match(name: str, value: str, op: str) -> None:
    m = parse_matcher(f"{name}{op}{value}")
    assert (m.name, m.value, m.isRegex, m.isEqual) == (name, value, "~" in op, op[0] == "=")
    assert m.matches({name: value}) == (op[0] == "=")


def test_inhibition_needs_equal_labels_and_a_firing_source() -> None:
    rules = IncidentSettings().inhibit_rules
    target = {"category": "data_drift", "deployment": "a"}
    assert inhibited_by(rules, target, [{"category": "availability", "deployment": "a"}]) == 0
    assert inhibited_by(rules, target, [{"category": "availability", "deployment": "b"}]) is None
    assert inhibited_by(rules, target, []) is None
    security = {"category": "jailbreak", "deployment": "a"}
    assert inhibited_by(rules, security, [{"category": "availability", "deployment": "a"}]) is None
