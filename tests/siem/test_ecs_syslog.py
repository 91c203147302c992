"""ECS documents and RFC 5424 messages, checked field by field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from firebreak.siem.ecs import step_doc, timeline_doc
from firebreak.siem.syslog import format_message, frame_tcp, parse_structured_data
from firebreak.store.incidents import Incident, TimelineEntry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
INC = Incident(id="inc-1", deployment="support-bot", category="prompt_injection", severity="SEV1",
               status="detected", title='Injection "campaign" [key-9]', opened_at=NOW,
               updated_at=NOW, taxonomy={"family": "injection", "owasp": ["LLM01"],
                                         "atlas": ["AML.T0051"]})
# RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP MSG
HEADER = re.compile(
    rb"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[.*?[^\\]\]) \xef\xbb\xbf(.*)$", re.S)


def entry(kind: str, **data: object) -> TimelineEntry:
    return TimelineEntry(id=7, incident_id="inc-1", ts=NOW, kind=kind, actor="firebreak",
                         message=f"{kind} happened", data=data)


def test_incident_opened_is_an_ecs_alert() -> None:
    doc = timeline_doc(INC, entry("status", status="detected", severity="SEV1"))
    assert doc["ecs"]["version"].startswith("8.")
    assert doc["@timestamp"] == "2026-11-25T12:00:00+00:00"
    ev = doc["event"]
    assert (ev["kind"], ev["type"], ev["action"]) == ("alert", ["creation"], "incident-opened")
    assert ev["id"] == "firebreak-timeline-7" and ev["severity"] == 99
    assert ev["category"] == ["intrusion_detection"] and ev["dataset"] == "firebreak.incident"
    assert doc["threat"]["technique"]["id"] == ["AML.T0051"]
    assert doc["service"]["name"] == "support-bot"
    assert doc["firebreak"]["taxonomy"]["owasp"] == ["LLM01"]


def test_changes_alerts_and_actions_map_to_their_ecs_kinds() -> None:
    change = timeline_doc(INC, entry("status", before={"status": "detected"}))["event"]
    assert (change["kind"], change["type"]) == ("event", ["change"])
    assert change["action"] == "incident-status"
    resolved = timeline_doc(INC, entry("alert", status="resolved"))["event"]
    assert (resolved["kind"], resolved["type"]) == ("alert", ["end"])
    assert resolved["dataset"] == "firebreak.alert"
    failed = timeline_doc(INC, entry("action", phase="outcome", action="gateway.block", ok=False))
    assert failed["event"]["outcome"] == "failure" and failed["event"]["action"] == "gateway.block"
    denied = step_doc(INC, "contain", {"run_id": "run-1", "step_key": "approve", "status": "denied",
                                       "decided_by": "alice", "outcome_at": NOW})
    assert denied["event"]["type"] == ["denied"] and denied["user"]["name"] == "alice"
    assert denied["event"]["id"] == "firebreak-step-run-1-approve-denied"


def test_rfc5424_message_shape_and_escaping() -> None:
    doc = timeline_doc(INC, entry("status"))
    doc["firebreak"]["incident"]["title"] = INC.title
    msg = format_message(doc, facility=13, hostname="fb host")
    m = HEADER.match(msg)
    assert m is not None, msg[:200]
    pri, ts, host, app, _procid, msgid, sd, body = m.groups()
    assert int(pri) == 13 * 8 + 2  # log audit, critical (SEV1)
    assert ts == b"2026-11-25T12:00:00+00:00" and host == b"fbhost" and app == b"firebreak"
    assert msgid == b"incident"
    assert json.loads(body.decode())["event"]["id"] == "firebreak-timeline-7"
    params = parse_structured_data(msg)
    assert params["incident_id"] == "inc-1" and params["severity"] == "SEV1"
    tricky = dict(doc, firebreak={**doc["firebreak"], "incident": {
        **doc["firebreak"]["incident"], "deployment": 'a"b]c\\d'}})
    assert parse_structured_data(format_message(tricky))["deployment"] == 'a"b]c\\d'
    assert frame_tcp(b"hello") == b"5 hello"
