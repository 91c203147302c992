"""On planted causes built from stored events, the top finding names the planted cause."""

from __future__ import annotations

import time

from firebreak.config import Settings
from firebreak.forensics.analyzers import top_cause
from firebreak.forensics.case import Finding
from firebreak.forensics.report import build_report
from firebreak.forensics.service import snapshot
from firebreak.store import Database

from . import scenarios
from .conftest import make_incident


def _top(db: Database, settings: Settings, deployment: str, category: str) -> tuple[Finding, dict]:
    inc = make_incident(db, deployment, category=category)
    ids = snapshot(db, incident_id=inc.id, settings=settings)
    assert ids
    started = time.perf_counter()
    report = build_report(db, settings, inc.id)
    assert time.perf_counter() - started < 20
    findings = [Finding.model_validate(f) for f in report["findings"]]
    top = top_cause(findings)
    assert top is not None, report["findings"]
    assert set(top.evidence_ids) <= set(ids), "findings cite evidence from the snapshot"
    return top, report


def test_poisoned_rag_source_is_top(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    source = scenarios.poisoned_rag(db)
    top, report = _top(db, settings, "support-bot", "indirect_injection")
    assert top.cause == f"rag_source:{source}"
    assert top.analyzer == "rag_provenance"
    assert top.details["ingested_at"].startswith("2026-11-20T11:56")
    assert top.evidence_ids


def test_injection_campaign_key_is_top(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    key, payload = scenarios.injection_campaign(db)
    top, report = _top(db, settings, "support-bot", "prompt_injection")
    assert top.cause == f"api_key:{key}"
    assert top.analyzer == "attack_clustering"
    assert top.details["payload"][:30] in payload
    assert len(top.details["client_ips"]) == 7 and len(top.details["users"]) == 5
    assert report["charts"]["clusters"][0]["size"] >= 60


def test_model_version_swap_is_top(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    version = scenarios.model_swap(db)
    top, _ = _top(db, settings, "credit-risk", "performance_degradation")
    assert top.cause == f"model_version:{version}"
    assert "v1" in top.summary


def test_flipped_training_batch_is_top(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    batch = scenarios.flipped_batch(db)
    top, report = _top(db, settings, "spam-filter", "data_poisoning")
    assert top.cause == f"training_batch:{batch}"
    assert top.details["flip_rate"] > 0.25 > top.details["baseline_flip_rate"]
    clean = [f for f in report["findings"] if f["cause"].startswith("training_batch:b-clean")]
    assert not clean, "clean batches are not blamed"


def test_feature_drift_is_attributed(lite: tuple[Database, Settings]) -> None:
    db, settings = lite
    feature = scenarios.feature_drift(db)
    top, report = _top(db, settings, "pricing", "data_drift")
    assert top.cause == f"feature_drift:{feature}"
    shares = top.details["features"]
    assert shares[feature]["output_share"] > 0.9 > shares["age"]["output_share"]
    assert report["charts"]["metric"] == "requests"
