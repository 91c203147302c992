"""deploy/kubernetes validates against a current Kubernetes schema (kubernetes-validate)."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

MANIFESTS = sorted((Path(__file__).parents[2] / "deploy" / "kubernetes").glob("*.yaml"))


def _docs() -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    return [(f"{p.name}:{d['kind']}", d)
            for p in MANIFESTS for d in yaml.safe_load_all(p.read_text()) if d]


@pytest.mark.parametrize(("where", "doc"), _docs(), ids=[w for w, _ in _docs()])
def test_manifest_is_valid(where: str, doc: dict) -> None:  # type: ignore[type-arg]
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_every_role_has_deployment_and_disruption_budget() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in _docs()}
    for role in ("api", "worker", "engine", "gateway"):
        assert ("Deployment", f"firebreak-{role}") in kinds
        assert ("PodDisruptionBudget", f"firebreak-{role}") in kinds
    assert any(k == "HorizontalPodAutoscaler" for k, _ in kinds)
