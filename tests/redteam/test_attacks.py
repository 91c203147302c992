"""Every attack produces what it claims and reaches the target intact (recording server)."""

from __future__ import annotations

from typing import Any

import pytest

from firebreak.redteam import registry
from firebreak.redteam.base import Conversation
from firebreak.redteam.scorers import SCORERS
from firebreak.redteam.targets import CONTEXT_HEADER, OpenAITarget
from firebreak.redteam.taxonomy import ATLAS, OWASP_LLM_2025

ATTACKS = sorted(registry.attacks())


def _sent_texts(body: dict[str, Any]) -> str:
    texts = [m.get("content") or "" for m in body["messages"]]
    texts += [c["text"] for c in (body.get("firebreak") or {}).get("retrieved", [])]
    return "\n".join(texts)


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_declares_taxonomy_and_scorers(name: str) -> None:
    attack = registry.attack(name)
    probes = attack.probes()
    assert probes, name
    for probe in probes:
        assert probe.attack == name and probe.payload
        assert set(probe.scorers) <= set(SCORERS)
        if probe.benign:
            continue
        assert probe.owasp and all(t in OWASP_LLM_2025 for t in probe.owasp)
        assert probe.atlas and all(t in ATLAS for t in probe.atlas)
        if "goal" in probe.scorers:
            assert probe.goal and probe.goal in probe.payload


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_reaches_the_target_intact(name: str, recorder: tuple[str, Any]) -> None:
    url, rec = recorder
    target = OpenAITarget(url, "m")
    for probe in registry.attack(name).probes():
        before = len(rec.bodies)
        response = target.send(Conversation("SYS canary", probe.turns, probe.documents,
                                            probe.tools))
        assert response.text == "recorded"
        body = rec.bodies[before]
        assert probe.payload in _sent_texts(body)  # byte for byte, wherever it travels
        assert body["messages"][0] == {"role": "system", "content": "SYS canary"}
        if probe.documents:
            context = body["messages"][1]["content"]
            assert context.startswith(CONTEXT_HEADER) and probe.payload in context
        if any(t.role == "tool" for t in probe.turns):
            tool_msgs = [m for m in body["messages"] if m["role"] == "tool"]
            assert probe.payload in tool_msgs[0]["content"]
        offered = [t["function"]["name"] for t in body.get("tools", [])]
        assert set(probe.forbidden_tools) <= set(offered)


def test_documents_travel_in_the_gateway_extension(recorder: tuple[str, Any]) -> None:
    url, rec = recorder
    probe = registry.attack("indirect-injection-document").probes()[0]
    OpenAITarget(url, "m", gateway=True).send(Conversation("S", probe.turns, probe.documents))
    body = rec.bodies[-1]
    assert body["firebreak"]["retrieved"][0]["text"] == probe.documents[0].text
    assert not any(CONTEXT_HEADER in (m.get("content") or "") for m in body["messages"])


@pytest.mark.parametrize("converter", sorted(registry.converters()))
def test_converted_attack_reaches_the_target_intact(converter: str,
                                                   recorder: tuple[str, Any]) -> None:
    url, rec = recorder
    conv = registry.converter(converter)
    probe = conv.convert(registry.attack("direct-injection").probes()[0])
    OpenAITarget(url, "m").send(Conversation("S", probe.turns))
    users = [m["content"] for m in rec.bodies[-1]["messages"] if m["role"] == "user"]
    if converter == "multi-turn":
        assert " ".join(users).count("«") == 3
        return
    assert users == [probe.payload]
    if converter != "none":
        original = registry.attack("direct-injection").probes()[0]
        assert conv.decode(users[0], original.goal) == original.payload
