"""The ingest hot path: the SQLite writer (multi-row inserts of every size, deployment counts
without the ORM, a refused row rolls the transaction back, a group is published while the
next one commits, still in commit order) and the cheaper redaction checks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firebreak.config import Settings
from firebreak.events import Event, LLMCall
from firebreak.ingest.group import GroupCommit
from firebreak.ingest.redact import _SEVEN_DIGITS, HASHED, Redactor, _may_hold_seven_digits
from firebreak.store import Database, open_database
from firebreak.store.events import (
    EventFilter,
    _chunk_sizes,
    _sqlite_insert,
    count_events,
    insert_events,
    list_deployments,
    prepare_rows,
    query_events,
)
from firebreak.store.models import DeploymentRow


@pytest.fixture
def lite(tmp_path: object) -> Database:
    db = open_database(f"sqlite:///{tmp_path}/w.db")
    yield db  # type: ignore[misc]
    db.dispose()


def _calls(n: int, prefix: str, deployments: int = 3) -> list[Event]:
    return [LLMCall(event_id=f"{prefix}{i}", deployment=f"bot-{i % deployments}",
                    model_version=f"v{i % 2}", user_id=f"u{i}", response=f"r{i}",
                    ts=datetime(2026, 3, 1, 12, 0, i % 60, tzinfo=UTC))
            for i in range(n)]


@pytest.mark.parametrize("n", [1, 7, 499, 500, 501, 1999])
def test_every_batch_size_is_stored_whole_once(lite: Database, n: int) -> None:
    assert sum(_chunk_sizes(n)) == n
    events = _calls(n, f"s{n}-")
    assert len(insert_events(lite, events, prepare_rows(lite, events))) == n
    assert insert_events(lite, events) == []  # resent: all duplicates
    stored, _ = query_events(lite, EventFilter(), limit=n)
    assert [e["event_id"] for e in stored] == [e.event_id for e in events]
    assert stored[-1] == orjson.loads(events[-1].model_dump_json(exclude_none=True))


def test_duplicates_inside_one_group_keep_the_first(lite: Database) -> None:
    events = _calls(5, "d")
    twin = events[2].model_copy(update={"response": "second copy"})
    fresh = insert_events(lite, [*events, twin])
    assert fresh == events
    stored, _ = query_events(lite, EventFilter(), limit=10)
    assert stored[2]["response"] == "r2"


def test_deployment_counts_merge_and_keep_labels_and_first_seen(lite: Database) -> None:
    first = _calls(10, "a")
    insert_events(lite, first)
    with lite.write() as session:
        row = session.get(DeploymentRow, "bot-0")
        assert row is not None
        row.labels = {"team": "support"}
        seen_first = row.first_seen
    second = _calls(7, "b", deployments=2) + [
        LLMCall(event_id="c1", deployment="bot-9", model_version="v7")]
    insert_events(lite, second)
    rows = {d["name"]: d for d in list_deployments(lite)}
    expected = Counter(e.deployment for e in first + second)
    assert {name: d["event_count"] for name, d in rows.items()} == dict(expected)
    assert rows["bot-0"]["counts"] == {"llm.call": expected["bot-0"]}
    assert rows["bot-0"]["labels"] == {"team": "support"}
    assert rows["bot-0"]["first_seen"] == seen_first
    assert rows["bot-0"]["model_versions"] == ["v0", "v1"]
    assert rows["bot-9"]["model_versions"] == ["v7"]


def test_a_row_sqlite_would_not_store_rolls_back_the_transaction(lite: Database) -> None:
    events = _calls(3, "n")
    rows = prepare_rows(lite, events)
    assert rows is not None
    broken = [*rows[:2], rows[2][:-1] + (None,)]  # payload is NOT NULL
    with pytest.raises(RuntimeError, match="1 of 3 rows were not stored"), lite.write() as s:
        _sqlite_insert(s.connection(), broken)
    assert count_events(lite) == 0


def test_next_group_commits_while_the_previous_one_is_published(lite: Database) -> None:
    commits = GroupCommit()
    published: list[str] = []
    first_publishing, release_first = threading.Event(), threading.Event()

    def publish(events: list[Event]) -> None:
        if events[0].event_id.startswith("p0-"):
            first_publishing.set()
            assert release_first.wait(10)
        published.extend(e.event_id for e in events)

    batches = [_calls(20, f"p{k}-") for k in range(2)]
    threads = [threading.Thread(target=commits.write, args=(lite, b), kwargs={"publish": publish})
               for b in batches]
    threads[0].start()
    assert first_publishing.wait(10)
    threads[1].start()
    deadline = time.monotonic() + 10
    while count_events(lite) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert count_events(lite) == 40  # the second batch is committed ...
    assert published == []  # ... but not published before the first
    release_first.set()
    for t in threads:
        t.join(10)
    assert published == [e.event_id for b in batches for e in b]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789 ().+-a\u0663\u00e9", max_size=40))
def test_digit_precheck_never_hides_a_number(text: str) -> None:
    if _SEVEN_DIGITS.search(text):
        assert _may_hold_seven_digits(text)


def test_pseudonyms_are_stable_and_hashed_ids_pass_through() -> None:
    redactor = Redactor(Settings().redaction)
    first = redactor.hash_id("user-1")
    assert first is not None and HASHED.match(first)
    assert redactor.hash_id("user-1") == first == Redactor(Settings().redaction).hash_id("user-1")
    assert redactor.hash_id(first) == first and redactor.hash_id(None) is None


def test_rows_hold_what_the_models_dump_for_every_kind() -> None:
    from firebreak.events import EVENT_KINDS, event_adapter
    from firebreak.store.events import COLUMNS, _sqlite_ts, _values

    samples = {
        "llm.call": {"user_id": "u", "request_id": "r", "session_id": "s", "api_key_id": "k",
                     "messages": [{"role": "user", "content": "é"}], "model_version": "v"},
        "prediction": {"features": {"x": 1.0}, "output": 1, "user_id": "u", "request_id": "r"},
        "label": {"prediction_id": "p", "label": 1},
        "rag.document": {"doc_id": "d", "source": "s", "text": "t"},
        "training.batch": {"rows": [{"x": 1}]},
        "metric": {"name": "auc", "value": 0.9, "ts": "2026-03-01T12:00:00+02:00"},
        "alert": {"name": "a", "labels": {"sev": "high"}},
    }
    assert set(samples) == set(EVENT_KINDS)
    for kind, extra in samples.items():
        event = event_adapter.validate_python({"kind": kind, "deployment": "d", **extra})
        row = dict(zip(COLUMNS, _values(event, "now", _sqlite_ts), strict=True))
        assert row["payload"] == event.model_dump_json(exclude_none=True)
        for column in ("request_id", "user_id", "session_id", "api_key_id", "model_version"):
            assert row[column] == getattr(event, column, None)
        assert (row["event_id"], row["kind"]) == (event.event_id, event.kind)
        assert row["ts"] == _sqlite_ts(event.ts)


def test_sqlite_fast_path_and_orm_path_store_the_same(tmp_path: object,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The ORM branch (PostgreSQL's) and the SQLite branch share the tallies and the merge."""
    import firebreak.store.events as store_events

    batches = [_calls(30, "x", deployments=4), _calls(10, "y", deployments=2),
               _calls(30, "x", deployments=4)[:5]]  # a resend: duplicates
    dumps = []
    for name, orm in (("fast", False), ("orm", True)):
        db = open_database(f"sqlite:///{tmp_path}/{name}.db")
        if orm:
            monkeypatch.setattr(store_events, "prepare_rows", lambda *a, **k: None)
            monkeypatch.setattr(store_events, "_sqlite_insert", None)  # must not be used
        try:
            fresh = [len(insert_events(db, b)) for b in batches]
            events, _ = query_events(db, EventFilter(), limit=100)
            deployments = [{k: v for k, v in d.items() if k not in ("first_seen", "last_seen")}
                           for d in list_deployments(db)]
            dumps.append((fresh, [e["event_id"] for e in events], deployments))
        finally:
            monkeypatch.undo()
            db.dispose()
    assert dumps[0] == dumps[1]
    assert dumps[0][0] == [30, 10, 0]
