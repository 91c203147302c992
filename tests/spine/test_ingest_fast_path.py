"""The ingest hot path: validating whole bodies from bytes and group commit give the same
answers as the item-by-item path and one transaction per batch."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firebreak.config import ApiSettings, Settings
from firebreak.events import Event
from firebreak.ingest.body import BodyRejected, may_hold_long_string, parse_items
from firebreak.ingest.group import GroupCommit
from firebreak.ingest.service import Ingestor
from firebreak.store import Database
from firebreak.store.events import EventFilter, count_events, query_events
from spine.conftest import llm_calls

LIMIT = 300


def _ingestor() -> Ingestor:
    return Ingestor(Settings(api=ApiSettings(max_field_chars=LIMIT)))


def _calls(n: int, prefix: str = "f") -> list[dict[str, Any]]:
    return [{**c, "ts": "2026-03-01T12:00:00+02:00"} for c in llm_calls(n, prefix=prefix)]


def _bodies() -> list[tuple[str, bytes, bool]]:
    clean = _calls(5)
    bad = _calls(5, "b")
    bad[3]["latency_ms"] = "slow"
    long = _calls(3, "l")
    long[1]["attributes"] = {"note": 'say \\"hi\\" ' + "y" * LIMIT}
    lines = [orjson.dumps(c) for c in _calls(3, "n")]
    return [
        ("clean array", orjson.dumps(clean), False),
        ("one bad item", orjson.dumps(bad), False),
        ("a field too long", orjson.dumps(long), False),
        ("one object", orjson.dumps(clean[0]), False),
        ("NaN", orjson.dumps(clean[:2]).replace(b'"latency_ms":', b'"latency_ms":NaN,"x":'),
         False),
        ("not a list", b'"hello"', False),
        ("clean ndjson", b"\n".join(lines) + b"\n", True),
        ("ndjson with bad lines", b"\n".join([*lines, b"{not json", b"[1]"]), True),
    ]


@pytest.mark.parametrize("name,body,ndjson", _bodies(), ids=[b[0] for b in _bodies()])
def test_whole_body_validation_agrees_with_item_by_item(name: str, body: bytes,
                                                        ndjson: bool) -> None:
    ingestor = _ingestor()
    try:  # the reference: parse, then check every item (no shortcut)
        items = parse_items(body, ndjson=ndjson, max_items=100)
        expected: Any = ingestor.validate(items)
    except BodyRejected as exc:
        expected = ("rejected", exc.status_code, exc.field)
    try:
        got: Any = ingestor.validate_body(body, ndjson=ndjson, max_items=100)
    except BodyRejected as exc:
        got = ("rejected", exc.status_code, exc.field)
    if expected[0] == "rejected":
        assert got == expected
        return
    dump = [e.model_dump() for e in expected[0]], expected[1]
    assert ([e.model_dump() for e in got[0]], got[1]) == dump


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet='ab"\\\u00e9\n', max_size=40), max_size=6),
       st.integers(min_value=1, max_value=30))
def test_long_string_scan_never_misses_one(strings: list[str], limit: int) -> None:
    body = orjson.dumps({"k": strings, "z": [1, "two"]})
    if any(len(s) > limit for s in strings):
        assert may_hold_long_string(body, limit)


def test_group_commit_stores_batches_together_and_publishes_in_order(db: Database) -> None:
    ingestor = _ingestor()
    commits = GroupCommit()
    published: list[list[Event]] = []
    batches = [ingestor.validate(_calls(20, prefix=f"g{k}-"))[0] for k in range(4)]
    batches.append(ingestor.validate(_calls(30, prefix="g1-"))[0])  # 20 resent, 10 new
    results: dict[int, list[Event]] = {}

    def write(k: int) -> None:
        results[k] = commits.write(db, batches[k], publish=published.append)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(len(batches))]
    with commits._writer:  # hold the writer: the batches queue up behind it, in this order
        for k, t in enumerate(threads):
            t.start()
            deadline = time.monotonic() + 10
            while len(commits._queue) <= k and time.monotonic() < deadline:
                time.sleep(0.005)
        assert len(commits._queue) == len(batches)
    for t in threads:
        t.join()
    assert [len(results[k]) for k in range(len(batches))] == [20, 20, 20, 20, 10]
    assert count_events(db) == 90
    stored, _ = query_events(db, EventFilter(), limit=1000)
    assert [e.event_id for batch in published for e in batch] == [e["event_id"] for e in stored]
