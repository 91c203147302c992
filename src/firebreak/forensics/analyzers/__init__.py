"""Root-cause analyzers: each reads a Case and returns findings with confidence and evidence.

Causes rank by confidence; impact findings (blast radius) are reported beside them.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from firebreak.forensics.case import Case, Finding
from firebreak.store.db import Database

log = structlog.get_logger(__name__)

Analyzer = Callable[[Case, Database], list[Finding]]


def analyzers() -> list[tuple[str, Analyzer]]:
    from firebreak.forensics.analyzers import blast, change, clusters, drift, poisoning, rag

    return [
        ("change_correlation", change.analyze),
        ("drift_attribution", drift.analyze),
        ("attack_clustering", clusters.analyze),
        ("rag_provenance", rag.analyze),
        ("blast_radius", blast.analyze),
        ("data_poisoning", poisoning.analyze),
        ("supply_chain", change.supply_chain),
    ]


def run_all(case: Case, db: Database) -> list[Finding]:
    """Every analyzer's findings, causes first, most confident first.

    One analyzer failing on odd data must not cost the report the others' findings.
    """
    found: list[Finding] = []
    for name, fn in analyzers():
        try:
            found.extend(fn(case, db))
        except Exception:
            log.exception("forensics.analyzer_failed", analyzer=name, incident_id=case.incident.id)
    return sorted(found, key=lambda f: (f.kind != "cause", -f.confidence))


def top_cause(findings: list[Finding]) -> Finding | None:
    causes = [f for f in findings if f.kind == "cause"]
    return causes[0] if causes else None
