"""The core store on SQLite and PostgreSQL: idempotent inserts, filters, tokens, policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from firebreak.errors import ValidationFailed
from firebreak.events import LLMCall, Prediction
from firebreak.store import Database
from firebreak.store.events import (
    EventFilter,
    count_events,
    deployment_kinds,
    first_event_ids,
    first_payloads,
    insert_events,
    joined_payloads,
    list_deployments,
    query_events,
)
from firebreak.store.policy import Block, get_policy, policy_changes, update_policy
from firebreak.store.tokens import create_token, revoke_token, verify_token


def _calls(n: int, deployment: str = "support-bot", **kw: object) -> list[LLMCall]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [LLMCall(event_id=f"{deployment}-{i}", deployment=deployment,
                    ts=t0 + timedelta(seconds=i),
                    user_id=f"u{i % 3}", api_key_id=f"k{i % 2}", **kw) for i in range(n)]


def test_insert_is_idempotent_and_counts_deployments(db: Database) -> None:
    first = insert_events(db, _calls(10))
    again = insert_events(db, _calls(12))
    assert len(first) == 10 and len(again) == 2
    assert count_events(db) == 12
    (dep,) = list_deployments(db)
    assert dep["name"] == "support-bot" and dep["event_count"] == 12
    assert dep["counts"] == {"llm.call": 12}


def test_duplicates_inside_one_batch_are_stored_once(db: Database) -> None:
    calls = _calls(3)
    assert len(insert_events(db, calls + calls)) == 3
    assert count_events(db) == 3


def test_filters_and_cursor_pagination(db: Database) -> None:
    insert_events(db, _calls(25))
    insert_events(db, [Prediction(deployment="credit-risk", features={"x": 1.0}, output=1)])
    seen, cursor = [], None
    while True:
        page, cursor = query_events(db, EventFilter(deployment="support-bot", user_id="u1"),
                                    after=cursor, limit=3)
        seen += page
        if cursor is None:
            break
    assert [e["event_id"] for e in seen] == [f"support-bot-{i}" for i in range(25) if i % 3 == 1]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    window = EventFilter(since=t0 + timedelta(seconds=5), until=t0 + timedelta(seconds=10))
    assert count_events(db, window) == 5
    assert count_events(db, EventFilter(kind="prediction")) == 1


def test_joined_payloads_come_in_time_slices_oldest_first(db: Database) -> None:
    calls = _calls(300, model_version="v1") + _calls(5, deployment="other")
    calls[20] = calls[20].model_copy(update={"model_version": "v2"})
    insert_events(db, list(reversed(calls)))  # stored newest first: order comes from ts
    t0 = calls[0].ts
    f = EventFilter(deployment="support-bot", kind="llm.call", since=t0,
                    until=t0 + timedelta(seconds=300))
    target = 40 * len(calls[0].model_dump_json(exclude_none=True))  # about 40 events
    slices = list(joined_payloads(db, f, target=target))
    counts = [n for n, _ in slices]
    # one event a second: the span starts at 10 s and doubles while slices are small
    assert sum(counts) == 300 and counts[:2] == [10, 20] and len(slices) < 20
    assert max(len(data) for _, data in slices) <= target * 1.2
    events = orjson.loads(b"[" + b",".join(data for _, data in slices) + b"]")
    assert [e["event_id"] for e in events] == [f"support-bot-{i}" for i in range(300)]
    assert LLMCall.model_validate(events[7]) == calls[7]
    assert first_event_ids(db, f, 4) == [f"support-bot-{i}" for i in range(4)]
    empty = EventFilter(deployment="none", kind="x", since=t0, until=t0 + timedelta(hours=1))
    assert list(joined_payloads(db, empty)) == [] and first_event_ids(db, empty, 4) == []
    with pytest.raises(ValueError, match="since and until"):
        next(joined_payloads(db, EventFilter(deployment="support-bot")))
    assert deployment_kinds(db, "support-bot") == ["llm.call"] and not deployment_kinds(db, "x")
    first = first_payloads(db, EventFilter(deployment="support-bot"), ["v1", "v2"])
    assert {v: orjson.loads(p)["event_id"] for v, p in first.items()} == {
        "v1": "support-bot-0", "v2": "support-bot-20"}


def test_joined_payloads_skip_empty_stretches(db: Database,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A week before a window and an hour past now hold nothing: one query finds where the
    events resume instead of a slice per doubling span (16 for a week)."""
    from firebreak.store import events as store

    calls = _calls(30)
    insert_events(db, calls)
    queries: list[object] = []
    joined = store._joined
    monkeypatch.setattr(store, "_joined", lambda db, f: queries.append(f) or joined(db, f))
    t0 = calls[0].ts
    f = EventFilter(deployment="support-bot", kind="llm.call", since=t0 - timedelta(days=7),
                    until=t0 + timedelta(hours=1))
    slices = list(joined_payloads(db, f))
    events = orjson.loads(b"[" + b",".join(data for _, data in slices) + b"]")
    assert [e["event_id"] for e in events] == [c.event_id for c in calls]
    assert len(queries) <= 4


def test_tokens_hash_scope_expiry_and_revoke(db: Database) -> None:
    secret, info = create_token(db, name="t", scopes=["read"])
    assert verify_token(db, secret) == info and info.allows("read") and not info.allows("ingest")
    assert verify_token(db, secret + "x") is None
    old, _ = create_token(db, name="old", scopes=["admin"], ttl=timedelta(seconds=-1))
    assert verify_token(db, old) is None
    revoke_token(db, info.id)
    assert verify_token(db, secret) is None
    with pytest.raises(ValidationFailed):
        create_token(db, name="bad", scopes=["root"])


def test_policy_versions_and_history(db: Database) -> None:
    assert get_policy(db, "support-bot").version == 0

    def block(p):  # type: ignore[no-untyped-def]
        p.blocked_api_keys.append(Block(value="k1", reason="campaign"))
        return p

    after = update_policy(db, "support-bot", block, actor="test", incident_id="inc-1")
    assert after.version == 1
    stored = get_policy(db, "support-bot")
    assert [b.value for b in stored.blocked_api_keys] == ["k1"] and stored.version == 1
    (change,) = policy_changes(db, incident_id="inc-1")
    assert change["before"]["blocked_api_keys"] == []
    assert change["after"]["blocked_api_keys"][0]["value"] == "k1"


def test_a_slow_write_is_logged_with_where_its_time_went(db: Database) -> None:
    """A write taking longer than SLOW_WRITE_SECONDS says whether it waited for another
    writer of this process or for its own transaction (a containment step is a write)."""
    import threading
    import time

    from structlog.testing import capture_logs

    from firebreak.store import db as store_db

    slow = store_db.SLOW_WRITE_SECONDS
    entered = threading.Event()

    def hold() -> None:
        with db.write():
            entered.set()
            time.sleep(slow + 0.1)

    holder = threading.Thread(target=hold)
    with capture_logs() as logs:
        with db.write():
            pass  # fast: not logged
        holder.start()
        entered.wait(5)
        with db.write():
            pass
        holder.join()
    entries = sorted((e for e in logs if e["event"] == "store.slow_write"),
                     key=lambda e: e["lock_wait_s"])
    assert entries[0]["transaction_s"] >= slow and entries[0]["lock_wait_s"] < 0.1  # holder
    if db.is_sqlite:  # one writer per process: the second waited for the holder's lock
        assert len(entries) == 2 and entries[1]["lock_wait_s"] >= slow - 0.1
    else:  # no process lock: only the holder was slow
        assert len(entries) == 1
