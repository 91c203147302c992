"""The exporter and the stage against real sinks: a file, an HTTP _bulk endpoint, syslog sockets."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from firebreak import bus
from firebreak.config import Settings, SiemSettings
from firebreak.runtime import Runtime
from firebreak.siem.exporter import Exporter
from firebreak.siem.sinks import FileSink, HttpSink, SyslogSink, build_sinks
from firebreak.siem.syslog import parse_structured_data
from firebreak.store import Database
from firebreak.store.incidents import update_incident


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_records_reach_every_sink_once(db: Database, tmp_path: Path, bulk: Any,
                                       syslog_rx: Any, siem: Any) -> None:
    out = tmp_path / "ecs.jsonl"
    sinks = [FileSink(out), HttpSink(bulk.url, fmt="elastic_bulk", authorization="ApiKey s3cret"),
             SyslogSink("127.0.0.1", syslog_rx.udp_port, protocol="udp"),
             SyslogSink("127.0.0.1", syslog_rx.tcp_port, protocol="tcp")]
    exporter = Exporter(db, sinks, tmp_path / "cursors.json")
    inc = siem.incident_with_history(db)
    assert exporter.sweep() == 4 * 4
    docs = lines(out)
    actions = [d["event"]["action"] for d in docs]
    assert actions == ["incident-opened", "alert-firing", "gateway.block", "approval"]
    assert all(d["firebreak"]["incident"]["id"] == inc.id for d in docs)
    assert docs[-1]["event"]["outcome"] == "failure" and docs[-1]["user"]["name"] == "alice"
    bulk_lines = bulk.bodies[0].splitlines()
    first_id = docs[0]["event"]["id"]
    assert json.loads(bulk_lines[0]) == {"create": {"_index": "firebreak", "_id": first_id}}
    assert bulk.auth == ["ApiKey s3cret"]
    udp = syslog_rx.read_udp(4)
    assert [parse_structured_data(m)["action"] for m in udp] == actions
    tcp = _wait_frames(syslog_rx, 4)  # octet-counted frames, one message each
    assert [parse_structured_data(m)["event_id"] for m in tcp] == [d["event"]["id"] for d in docs]
    assert exporter.sweep() == 0  # nothing new, nothing sent twice
    assert len(lines(out)) == 4


def _wait_frames(rx: Any, n: int) -> list[bytes]:
    for _ in range(100):
        stream, out = bytes(rx.tcp_stream), []
        while stream:
            size, _, rest = stream.partition(b" ")
            out.append(rest[:int(size)])
            stream = rest[int(size):]
        if len(out) >= n:
            return out
        time.sleep(0.02)
    raise AssertionError("syslog over TCP did not arrive")


def test_a_failing_sink_catches_up_without_duplicates_elsewhere(
        db: Database, tmp_path: Path, bulk: Any, siem: Any) -> None:
    out, state = tmp_path / "ecs.jsonl", tmp_path / "cursors.json"
    exporter = Exporter(db, [FileSink(out), HttpSink(bulk.url)], state)
    inc = siem.incident_with_history(db)
    bulk.fail = True
    exporter.sweep()
    assert len(lines(out)) == 4 and bulk.bodies == []
    bulk.fail = False
    update_incident(db, inc.id, actor="alice", message="contained", status="contained")
    # A restarted exporter resumes from the saved cursors.
    again = Exporter(db, [FileSink(out), HttpSink(bulk.url)], state)
    again.sweep()
    assert len(lines(out)) == 5
    assert len(bulk.bodies[0].splitlines()) == 5
    assert lines(out)[-1]["event"]["action"] == "incident-status"


def test_a_first_start_does_not_replay_history(db: Database, tmp_path: Path, siem: Any) -> None:
    siem.incident_with_history(db)
    exporter = Exporter(db, [FileSink(tmp_path / "ecs.jsonl")], tmp_path / "cursors.json")
    assert exporter.sweep() == 0


def test_settings_pick_the_sinks(tmp_path: Path) -> None:
    cfg = SiemSettings(enabled=True, ecs_file=tmp_path / "x.jsonl", http_url="http://127.0.0.1:9/_bulk",
                       syslog_host="127.0.0.1", syslog_protocol="tcp")
    assert [s.name for s in build_sinks(cfg)] == ["file", "http", "syslog-tcp"]
    assert build_sinks(SiemSettings()) == []


async def test_stage_exports_when_an_incident_changes(sqlite_url: str, tmp_path: Path,
                                                      siem: Any) -> None:
    out = tmp_path / "ecs.jsonl"
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "data",
                        siem=SiemSettings(enabled=True, ecs_file=out, sweep_seconds=60))
    runtime = Runtime.open(settings)
    await runtime.start(["firebreak.siem.stage:create"])
    try:
        inc = await asyncio.to_thread(siem.incident_with_history, runtime.db)
        await runtime.bus.publish(bus.INCIDENTS, [{"incident_id": inc.id, "change": "opened"}])
        for _ in range(100):  # woken by the message, long before the 60 s sweep
            if len(lines(out)) == 4:
                break
            await asyncio.sleep(0.05)
        assert [d["event"]["action"] for d in lines(out)][0] == "incident-opened"
        assert len(lines(out)) == 4
    finally:
        await runtime.stop()
    assert json.loads((tmp_path / "data" / "siem-cursors.json").read_text())["file"]["timeline"] > 0
