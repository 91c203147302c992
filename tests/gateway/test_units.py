"""Small pure parts of the gateway: SSE reading, prices, policy merging, operations."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from firebreak.gateway.operations import Operation, apply_all
from firebreak.gateway.policy_cache import merge
from firebreak.gateway.pricing import cost_usd
from firebreak.gateway.wire import StreamReader
from firebreak.store.policy import Block, GuardPolicy, RateLimit


def test_stream_reader_reassembles_answer_across_chunk_boundaries() -> None:
    raw = (b'data: {"model":"m","choices":[{"delta":{"content":"Hel"}}]}\r\n\r\n'
           b'data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}],'
           b'"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\ndata: [DONE]\n\n')
    r = StreamReader()
    for i in range(0, len(raw), 7):  # arbitrary network chunking
        r.feed(raw[i:i + 7])
    assert (r.text, r.finish_reason, r.model) == ("Hello", "stop", "m")
    assert r.usage == {"prompt_tokens": 3, "completion_tokens": 2}


def test_stream_reader_crlf_split_between_chunks_and_odd_payloads() -> None:
    raw = (b'data: {"choices":[{"delta":{"content":"a"}}]}\r\n\r\n'
           b'data: 5\r\n\r\ndata: [1]\r\n\r\ndata: {"choices":[7]}\r\n\r\n'
           b'data: {"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}\r\n\r\n'
           b'data: {"choices":[{"delta":{"content":"cut"}}]}')  # no end: never complete
    cut = raw.index(b"\r\n\r\n") + 1  # between CR and LF
    r = StreamReader()
    r.feed(raw[:cut])
    r.feed(raw[cut:])
    assert (r.text, r.finish_reason) == ("ab", "stop")
    big = StreamReader()  # past BATCH bytes the events are parsed as they come
    event = b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n'
    for _ in range(StreamReader.BATCH // len(event) + 2):
        big.feed(event)
    assert big._size < StreamReader.BATCH and big.text.startswith("xxx")


def test_cost_from_price_table() -> None:
    assert cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert cost_usd("gpt-4o-mini-2024-07-18", 1000, 0) == pytest.approx(0.00015)
    assert cost_usd("my-model", 10, 10) is None  # unknown is not free
    assert cost_usd("my-model", 1_000_000, 0, {"my-model": (2.0, 4.0)}) == pytest.approx(2.0)


def test_merge_takes_the_stricter_of_star_and_deployment() -> None:
    star = GuardPolicy(deployment="*", mode="block", blocked_users=[Block(value="a")],
                       rate_limits=[RateLimit(rate=1)])
    own = GuardPolicy(deployment="bot", mode="monitor", blocked_users=[Block(value="b")],
                      thresholds={"injection": 0.5})
    m = merge(star, own, "bot")
    assert m.mode == "block" and {b.value for b in m.blocked_users} == {"a", "b"}
    assert len(m.rate_limits) == 1 and m.thresholds == {"injection": 0.5}
    assert merge(None, None, "x").deployment == "x" and not merge(None, None, "x").kill_switch
    assert merge(star.model_copy(update={"kill_switch": True}), own, "bot").kill_switch


def test_operations_validate_and_apply() -> None:
    ops = TypeAdapter(list[Operation]).validate_python([
        {"op": "block", "kind": "ip", "value": "10.0.0.1"},
        {"op": "throttle", "scope": "user", "rate": 2, "burst": 3},
        {"op": "throttle", "scope": "user", "rate": 5},  # replaces the same (scope, key)
        {"op": "quarantine", "source": "s1"}, {"op": "unquarantine", "source": "s1"}])
    p = apply_all(GuardPolicy(), list(ops))
    assert [b.value for b in p.blocked_ips] == ["10.0.0.1"]
    assert [(r.rate, r.burst) for r in p.rate_limits] == [(5.0, 1.0)]
    assert p.quarantined_sources == []
    with pytest.raises(ValidationError, match="kind"):
        TypeAdapter(list[Operation]).validate_python([{"op": "block", "kind": "x", "value": "v"}])
