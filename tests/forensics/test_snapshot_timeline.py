"""Snapshot contents, redaction, other stages' tables in the timeline, artifact fingerprints."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from firebreak.config import Settings
from firebreak.events import LLMCall, Prediction
from firebreak.forensics.analyzers.change import supply_chain
from firebreak.forensics.case import load_case
from firebreak.forensics.evidence import list_evidence, read_blob, read_events
from firebreak.forensics.service import snapshot
from firebreak.forensics.timeline import merged_timeline
from firebreak.store import Database
from firebreak.store.events import insert_events
from firebreak.store.policy import update_policy

from .conftest import T0, make_incident


def _blob(settings: Settings, record: dict) -> object:
    data = read_events(settings, record)  # an events record's pieces joined
    assert data is not None
    return orjson.loads(data)


def test_snapshot_captures_window_redacted(db: Database, settings: Settings) -> None:
    settings.forensics.redact_fields = ["client_ip"]
    insert_events(
        db,
        [
            LLMCall(
                event_id="in",
                ts=T0 + timedelta(minutes=1),
                deployment="bot",
                model_version="m1",
                messages=[{"role": "user", "content": "hi"}],
                client_ip="198.51.100.7",
                api_key_id="k1",
            ),
            LLMCall(
                event_id="out", ts=T0 - timedelta(hours=3), deployment="bot", model_version="m0"
            ),
            LLMCall(event_id="other", ts=T0, deployment="elsewhere"),
        ],
    )
    update_policy(
        db,
        "bot",
        lambda p: p.model_copy(update={"mode": "strict"}),
        actor="playbook",
        reason="containment",
    )
    inc = make_incident(db, "bot")
    ids = snapshot(db, incident_id=inc.id, settings=settings)
    records = {r["kind"]: r for r in list_evidence(db, inc.id)}
    assert [r["id"] for r in list_evidence(db, inc.id)] == ids
    assert {"incident", "events:llm.call", "model_versions", "policy", "config"} <= set(records)
    events = _blob(settings, records["events:llm.call"])
    assert [e["event_id"] for e in events] == ["in"]  # type: ignore[union-attr]
    assert events[0]["client_ip"] == "[redacted]"  # type: ignore[index]
    assert _blob(settings, records["policy"])["deployment"]["mode"] == "strict"  # type: ignore[index]
    config = _blob(settings, records["config"])
    assert config["redaction"]["salt"] == "**********"  # type: ignore[index]
    with pytest.raises(Exception, match="window_seconds"):
        snapshot(db, incident_id=inc.id, window_seconds=0, settings=settings)


def test_timeline_merges_other_stages_tables(db: Database, settings: Settings) -> None:
    alerting = pytest.importorskip("firebreak.store.alerting")
    monitor = pytest.importorskip("firebreak.store.monitor")
    inc = make_incident(db, "bot")
    with db.write() as s:
        s.add(
            alerting.SignalRow(
                fingerprint="f" * 16,
                deployment="bot",
                category="prompt_injection",
                detector="security",
                metric="injection_rate",
                status="firing",
                value=0.4,
                ts=T0 + timedelta(seconds=30),
                body={},
            )
        )
        s.add(
            monitor.ProfileRow(
                deployment="bot",
                window_start=T0 - timedelta(minutes=5),
                window_end=T0 - timedelta(minutes=4),
                events=3,
                body=b'{"features": {"dep_delay": {"mean": 12.5}}}',
            )
        )
        # the reference, set long before the window: captured whatever its age
        s.add(monitor.BaselineRow(deployment="bot", source="warmup", detail="first 60 s",
                                  rows=500, created_at=T0 - timedelta(days=3), body=b"{}"))
        s.add(monitor.BaselineRow(deployment="other", source="warmup", detail="", rows=1,
                                  created_at=T0, body=b"{}"))
    update_policy(db, "bot", lambda p: p, actor="playbook", reason="block key", incident_id=inc.id)
    snapshot(db, incident_id=inc.id, settings=settings)
    tl = merged_timeline(db, load_case(db, inc.id))
    kinds = [t["kind"] for t in tl]
    assert {"signal", "policy", "status", "onset", "evidence"} <= set(kinds)
    assert [t["ts"] for t in tl] == sorted(t["ts"] for t in tl)
    signal = next(t for t in tl if t["kind"] == "signal")
    assert "injection_rate" in signal["message"]
    kinds_captured = {r["kind"] for r in list_evidence(db, inc.id)}
    assert {"signals", "monitor_profiles", "monitor_baseline"} <= kinds_captured
    record = next(r for r in list_evidence(db, inc.id) if r["kind"] == "monitor_baseline")
    baseline = _blob(settings, record)
    assert [(b["deployment"], b["rows"]) for b in baseline] == [("bot", 500)]  # type: ignore[index]
    # the monitors' JSON bodies stay JSON in evidence (not base64)
    record = next(r for r in list_evidence(db, inc.id) if r["kind"] == "monitor_profiles")
    [profile] = _blob(settings, record)  # type: ignore[misc]
    assert profile["body"] == {"features": {"dep_delay": {"mean": 12.5}}}


def test_artifact_changed_without_version_change_is_a_finding(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"weights-v1")
    settings.forensics.artifacts = {"scorer@v1": str(weights)}
    insert_events(
        db,
        [
            Prediction(
                event_id=f"p{i}",
                ts=T0 + timedelta(seconds=i),
                deployment="scorer",
                model_version="v1",
                output=1,
            )
            for i in range(3)
        ],
    )
    inc = make_incident(db, "scorer")
    snapshot(db, incident_id=inc.id, settings=settings)
    assert supply_chain(load_case(db, inc.id), db) == []
    weights.write_bytes(b"weights-v1-tampered")
    snapshot(db, incident_id=inc.id, settings=settings)
    [finding] = supply_chain(load_case(db, inc.id), db)
    assert finding.cause == "artifact:scorer@v1"
    assert finding.taxonomy["owasp_llm"] == "LLM03:2025"


def test_snapshot_streams_arrays_across_batches(db: Database, settings: Settings,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Events reach their blob a batch at a time (500 per batch): the array is whole and in
    order, fields are redacted in every batch, and the ids in the meta stop at the cap."""
    monkeypatch.setattr("firebreak.forensics.snapshot.MAX_IDS_IN_META", 700)
    settings.forensics.redact_fields = ["client_ip"]
    insert_events(db, [LLMCall(event_id=f"e{i:04d}", ts=T0 + timedelta(milliseconds=i),
                               deployment="bot", client_ip="198.51.100.7") for i in range(1234)])
    inc = make_incident(db, "bot")
    snapshot(db, incident_id=inc.id, settings=settings)
    (record,) = [r for r in list_evidence(db, inc.id) if r["kind"] == "events:llm.call"]
    events = _blob(settings, record)
    ids = [e["event_id"] for e in events]  # type: ignore[union-attr]
    assert ids == [f"e{i:04d}" for i in range(1234)]
    assert {e["client_ip"] for e in events} == {"[redacted]"}  # type: ignore[union-attr]
    assert record["meta"]["count"] == 1234
    assert record["size"] == len(read_blob(settings, record["blob_sha256"]) or b"")
    assert record["meta"]["event_ids"] == [f"e{i:04d}" for i in range(700)]


def test_snapshot_logs_where_its_time_went(db: Database, settings: Settings,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """cpu (work), runnable (waiting for a CPU) and blocked (disk, locks) add up to the wall
    time; a capture that waits on its disk shows up as blocked, not as work."""
    from structlog.testing import capture_logs

    from firebreak.forensics import snapshot as snapshot_module

    inc = make_incident(db, "bot")
    taken = snapshot_module.take_snapshot

    def slow_disk(*args: object) -> list[str]:
        time.sleep(0.3)  # a write waiting on the disk: no CPU
        return taken(*args)  # type: ignore[arg-type]

    monkeypatch.setattr("firebreak.forensics.service.take_snapshot", slow_disk)
    with capture_logs() as logs:
        ids = snapshot(db, incident_id=inc.id, settings=settings)
    [line] = [e for e in logs if e["event"] == "forensics.snapshot_taken"]
    assert line["incident_id"] == inc.id and line["records"] == len(ids)
    assert line["wall_s"] >= 0.3 and line["cpu_s"] < line["wall_s"] - 0.25
    assert line["blocked_s"] >= 0.25
    parts = line["cpu_s"] + line["runnable_s"] + line["blocked_s"]
    assert parts == pytest.approx(line["wall_s"], abs=0.01)
