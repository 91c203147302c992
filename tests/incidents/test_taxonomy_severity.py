"""The taxonomy table and the severity rubric."""

from __future__ import annotations

import re

import pytest

from firebreak.config import DeploymentRisk, IncidentSettings
from firebreak.errors import ValidationFailed
from firebreak.incidents.severity import assess, grade
from firebreak.incidents.taxonomy import categories, category, family

EXPECTED = {"prompt_injection", "jailbreak", "indirect_injection", "rag_poisoning",
            "data_poisoning", "embedding_manipulation", "data_drift", "performance_degradation",
            "hallucination", "unsafe_output", "sensitive_data_leak", "system_prompt_leak",
            "excessive_agency", "unbounded_consumption", "availability"}


def test_the_fifteen_categories_map_to_valid_ids() -> None:
    table = categories()
    assert set(table) == EXPECTED
    for entry in table.values():
        assert all(re.fullmatch(r"LLM(0[1-9]|10):2025", o) for o in entry.owasp), entry.slug
        assert all(re.fullmatch(r"AML\.T\d{4}(\.\d{3})?", a) for a in entry.atlas), entry.slug
        assert entry.nist and all(n.split()[0] in ("GOVERN", "MAP", "MEASURE", "MANAGE")
                                  for n in entry.nist)
    assert table["prompt_injection"].owasp == ["LLM01:2025"]
    assert "AML.T0054" in table["jailbreak"].atlas
    assert table["system_prompt_leak"].owasp == ["LLM07:2025"]
    assert table["unbounded_consumption"].owasp == ["LLM10:2025"]


def test_unknown_category_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        category("nope")
    assert err.value.field == "category" and "prompt_injection" in err.value.reason
    assert family("jailbreak") == family("prompt_injection") != family("data_drift")


def test_rubric_weighs_security_share_users_data_and_reversibility() -> None:
    facing = DeploymentRisk(user_facing=True, data_sensitivity="personal")
    internal = DeploymentRisk(user_facing=False, data_sensitivity="none")
    # security + 30 % + user-facing + personal data + irreversible = 2+2+1+2+1
    assert grade("sensitive_data_leak", traffic_share=0.3, risk=facing).severity == "SEV1"
    assert grade("prompt_injection", traffic_share=0.01, risk=facing).severity == "SEV2"
    assert grade("data_drift", traffic_share=0.1, risk=facing).severity == "SEV3"
    assert grade("data_drift", traffic_share=0.01, risk=internal).severity == "SEV4"
    assert grade("hallucination", traffic_share=0.5, risk=facing).severity == "SEV3"


def test_per_deployment_overrides() -> None:
    settings = IncidentSettings(deployments={
        "credit-risk": DeploymentRisk(min_severity="SEV2", categories={"jailbreak": "SEV1"}),
        "sandbox": DeploymentRisk(max_severity="SEV3")})
    assert assess(settings, "credit-risk", "data_drift", 0.0).severity == "SEV2"
    assert assess(settings, "credit-risk", "jailbreak", 0.0).severity == "SEV1"
    capped = assess(settings, "sandbox", "sensitive_data_leak", 0.9)
    assert capped.severity == "SEV3" and "ceiling" in capped.reasons[-1]
    assert assess(settings, "other", "data_drift", 0.0).severity == "SEV4"
