"""Sealed event slices: closed minutes sealed once, cited by snapshots, re-read when late
events arrive, checked by verify, dropped past keeping unless cited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select

from firebreak.config import Settings
from firebreak.events import Label, Prediction
from firebreak.forensics.evidence import blob_path, list_evidence, read_blob, read_events
from firebreak.forensics.seal import PRUNE_LAG, seal_due
from firebreak.forensics.service import snapshot
from firebreak.forensics.verify import verify
from firebreak.store import Database
from firebreak.store.events import insert_events
from firebreak.store.forensics import EventSliceRow, EvidencePieceRow

from .conftest import make_incident

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
ONSET = NOW - timedelta(minutes=10)  # the window: 15 minutes either side, so all of these


def _flights(start: datetime, minutes: int, per_minute: int = 30, tag: str = "p") -> list:
    """`per_minute` predictions and a few labels in each minute from `start`."""
    out: list = []
    for m in range(minutes):
        for i in range(per_minute):
            ts = start + timedelta(minutes=m, seconds=i * 60 / per_minute)
            out.append(Prediction(event_id=f"{tag}{m:02d}-{i:02d}", ts=ts, deployment="flights",
                                  model_version="v1", features={"dep_delay": float(i)}, output=0))
        out.append(Label(event_id=f"l{tag}{m:02d}", ts=start + timedelta(minutes=m, seconds=7),
                         deployment="flights", prediction_id=f"{tag}{m:02d}-00", label=1))
    return out


def _slices(db: Database) -> list[EventSliceRow]:
    with db.session() as session:
        return list(session.scalars(select(EventSliceRow).order_by(EventSliceRow.since,
                                                                   EventSliceRow.kind)))


def _events_record(db: Database, incident_id: str, kind: str = "prediction") -> dict:
    [record] = [r for r in list_evidence(db, incident_id) if r["kind"] == f"events:{kind}"]
    return record


def _pieces(settings: Settings, record: dict) -> list[dict]:
    return orjson.loads(read_blob(settings, record["blob_sha256"]) or b"{}")["pieces"]


def test_a_snapshot_cites_sealed_minutes_and_reads_the_rest(db: Database,
                                                            settings: Settings) -> None:
    """Minutes closed before sealing become slices (one per kind); a snapshot cites them and
    reads only the unsealed edges, and its events are exactly those of the window, in order."""
    insert_events(db, _flights(ONSET - timedelta(minutes=5), 8))
    assert seal_due(db, settings, now=ONSET + timedelta(seconds=15)) == 2 * 5  # 5 whole minutes
    insert_events(db, _flights(ONSET + timedelta(minutes=3), 2, tag="q"))  # not sealed yet
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)

    record = _events_record(db, inc.id)
    pieces = _pieces(settings, record)
    sealed = {s.blob_sha256 for s in _slices(db) if s.kind == "prediction"}
    assert [p["sha256"] in sealed for p in pieces] == [True] * 5 + [False]  # then one read
    events = orjson.loads(read_events(settings, record) or b"[]")
    assert [e["event_id"] for e in events] == sorted(
        e.event_id for e in _flights(ONSET - timedelta(minutes=5), 8)
        + _flights(ONSET + timedelta(minutes=3), 2, tag="q") if isinstance(e, Prediction))
    assert record["meta"]["count"] == len(events) == 10 * 30
    with db.session() as session:  # what keeps cited slices' blobs past seal_keep_seconds
        named = set(session.scalars(select(EvidencePieceRow.sha256)
                                    .where(EvidencePieceRow.record_id == record["id"])))
    assert named == {p["sha256"] for p in pieces}
    assert len(orjson.loads(read_events(settings, _events_record(db, inc.id, "label"))
                            or b"[]")) == 10
    assert verify(db, settings, inc.id).ok


def test_a_late_event_sends_its_minute_back_to_the_database(db: Database,
                                                            settings: Settings) -> None:
    insert_events(db, _flights(ONSET - timedelta(minutes=4), 4))
    seal_due(db, settings, now=ONSET + timedelta(seconds=15))
    late_minute = ONSET - timedelta(minutes=2)
    insert_events(db, [Prediction(event_id="late", ts=late_minute + timedelta(seconds=59),
                                  deployment="flights", model_version="v1", output=1)])
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)

    record = _events_record(db, inc.id)
    sealed = {s.blob_sha256: s for s in _slices(db) if s.kind == "prediction"}
    cited = [sealed[p["sha256"]].since.replace(tzinfo=UTC)
             for p in _pieces(settings, record) if p["sha256"] in sealed]
    assert late_minute not in cited and len(cited) == 3  # the other three minutes still are
    events = orjson.loads(read_events(settings, record) or b"[]")
    assert len(events) == 4 * 30 + 1 and events[(2 + 1) * 30]["event_id"] == "late"
    ts = [e["ts"] for e in events]
    assert ts == sorted(ts)


def test_verify_checks_the_pieces_of_an_events_record(db: Database,
                                                      settings: Settings) -> None:
    insert_events(db, _flights(ONSET - timedelta(minutes=3), 3))
    seal_due(db, settings, now=ONSET)
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)
    record = _events_record(db, inc.id)
    piece = blob_path(settings, _pieces(settings, record)[1]["sha256"])
    piece.write_bytes(piece.read_bytes().replace(b'"v1"', b'"v9"'))

    result = verify(db, settings, inc.id)
    assert [(p.kind, p.evidence_id) for p in result.problems] == [("blob_changed", record["id"])]
    assert "piece blob" in result.problems[0].message
    piece.unlink()
    assert [p.kind for p in verify(db, settings, inc.id).problems] == ["blob_missing"]


def test_slices_past_keeping_are_dropped_but_not_the_blobs_evidence_cites(
        db: Database, settings: Settings) -> None:
    insert_events(db, _flights(ONSET - timedelta(minutes=3), 3))
    seal_due(db, settings, now=ONSET)  # seals minutes -3 and -2 (-1 is in its grace)
    first = ONSET - timedelta(minutes=3)
    inc = make_incident(db, "flights", onset=first + timedelta(seconds=30), status="resolved",
                        resolved_at=first + timedelta(seconds=58))
    snapshot(db, incident_id=inc.id, window_seconds=30, settings=settings)  # cites [-3, -2)
    before = _slices(db)
    cited = {p["sha256"] for r in list_evidence(db, inc.id) if r["kind"].startswith("events:")
             for p in _pieces(settings, r)}
    assert cited == {s.blob_sha256 for s in before if s.since.replace(tzinfo=UTC) == first}

    keep = timedelta(seconds=settings.forensics.seal_keep_seconds)
    seal_due(db, settings, now=ONSET + keep)  # past keeping, not yet past the lag: all kept
    assert len(_slices(db)) == len(before) == 4
    seal_due(db, settings, now=ONSET + keep + PRUNE_LAG + timedelta(minutes=1))
    assert _slices(db) == []
    kept = {s.blob_sha256 for s in before if blob_path(settings, s.blob_sha256).is_file()}
    assert kept == cited
    assert verify(db, settings, inc.id).ok


def test_with_sealing_off_a_snapshot_copies_its_window(db: Database,
                                                        settings: Settings) -> None:
    settings.forensics.seal_keep_seconds = 0
    insert_events(db, _flights(ONSET - timedelta(minutes=3), 3))
    assert seal_due(db, settings, now=ONSET) == 0 and _slices(db) == []
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)
    assert len(_pieces(settings, _events_record(db, inc.id))) == 1


def test_sealing_starts_again_after_a_gap(db: Database, settings: Settings) -> None:
    """A deployment last sealed longer ago than keeping (sealing was off, or the control
    plane was down) is sealed again from the oldest minute kept, not stuck at the gap."""
    long_ago = ONSET - timedelta(hours=5)
    insert_events(db, _flights(long_ago, 2, tag="old"))
    assert seal_due(db, settings, now=long_ago + timedelta(minutes=3)) == 4
    insert_events(db, _flights(ONSET - timedelta(minutes=3), 3))
    assert seal_due(db, settings, now=ONSET) == 4  # minutes -3 and -2, both kinds
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)
    sealed = {s.blob_sha256 for s in _slices(db) if s.kind == "prediction"}
    assert sum(p["sha256"] in sealed for p in _pieces(settings, _events_record(db, inc.id))) == 2


def test_whole_sealed_minutes_are_proved_without_counting_the_window(
        db: Database, settings: Settings, monkeypatch) -> None:
    """The running count kept at ingest, less the events not sealed yet, proves the sealed
    minutes whole: the window is never counted, nor its model versions asked for."""
    from firebreak.forensics import seal

    insert_events(db, _flights(ONSET - timedelta(minutes=5), 6))
    seal_due(db, settings, now=ONSET + timedelta(seconds=15))
    insert_events(db, _flights(ONSET + timedelta(minutes=1), 1, tag="q"))

    def refuse(*_args: object, **_kw: object) -> None:
        raise AssertionError("scanned the sealed range")

    asked: list = []
    real_versions = seal.model_versions
    monkeypatch.setattr(seal, "count_events", refuse)
    monkeypatch.setattr(seal, "model_versions",
                        lambda db_, f: asked.append((f.since, f.until)) or real_versions(db_, f))
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)
    pieces = _pieces(settings, _events_record(db, inc.id))
    assert len(pieces) == 5 + 1 and pieces[-1]["count"] == 30 + 30  # minute -1 and the tail
    sealed = (ONSET - timedelta(minutes=5), ONSET)
    assert asked and all(until <= sealed[0] or since >= sealed[1] for since, until in asked)


def test_an_event_stored_while_its_minute_is_sealed_is_not_missed(
        db: Database, settings: Settings, monkeypatch) -> None:
    """The count a seal keeps is added up from what its slices hold, so an event that lands
    in a minute after the minute was read and before the seal commits is caught later."""
    from firebreak.forensics import seal

    insert_events(db, _flights(ONSET - timedelta(minutes=3), 3))
    seal_due(db, settings, now=ONSET - timedelta(minutes=2, seconds=-15))  # minute -3 only
    minute = ONSET - timedelta(minutes=2)
    real_blob = seal.events_blob

    def blob_then_late(settings_, f, db_, redact=None):  # noqa: ANN001, ANN202
        written = real_blob(settings_, f, db_, redact)
        if f.kind == "prediction" and f.since == minute:
            insert_events(db_, [Prediction(event_id="racer", ts=minute + timedelta(seconds=5),
                                           deployment="flights", model_version="v1",
                                           output=1)])
        return written

    monkeypatch.setattr(seal, "events_blob", blob_then_late)
    seal_due(db, settings, now=ONSET - timedelta(seconds=45))  # minute -2
    monkeypatch.undo()
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)
    events = orjson.loads(read_events(settings, _events_record(db, inc.id)) or b"[]")
    assert "racer" in [e["event_id"] for e in events] and len(events) == 3 * 30 + 1


def test_the_window_model_versions_add_up_from_slices_and_the_database(
        db: Database, settings: Settings) -> None:
    from firebreak.store.events import EventFilter, model_versions

    start = ONSET - timedelta(minutes=4)
    v2 = [Prediction(event_id=f"v2-{i}", ts=start + timedelta(minutes=2, seconds=30 + i),
                     deployment="flights", model_version="v2", output=0) for i in range(5)]
    insert_events(db, _flights(start, 4) + v2)
    seal_due(db, settings, now=ONSET + timedelta(seconds=15))
    insert_events(db, [Prediction(event_id="v3", ts=ONSET + timedelta(seconds=20),
                                  deployment="flights", model_version="v3", output=0),
                       Prediction(event_id="v2-late", ts=start + timedelta(seconds=3),
                                  deployment="flights", model_version="v2", output=0)])
    inc = make_incident(db, "flights", onset=ONSET)
    snapshot(db, incident_id=inc.id, settings=settings)
    [record] = [r for r in list_evidence(db, inc.id) if r["kind"] == "model_versions"]
    captured = orjson.loads(read_blob(settings, record["blob_sha256"]) or b"{}")["versions"]
    truth = model_versions(db, EventFilter(deployment="flights", since=ONSET - timedelta(
        minutes=15), until=ONSET + timedelta(minutes=15)))
    assert captured == orjson.loads(orjson.dumps(truth))
    assert captured["v2"]["count"] == 6 and set(captured) == {"v1", "v2", "v3"}
