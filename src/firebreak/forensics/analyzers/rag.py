"""RAG provenance: which documents and sources appear in flagged answers, and when ingested."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from firebreak.events import LLMCall
from firebreak.forensics.case import Case, Finding, is_flagged, utc
from firebreak.store.db import Database

LLM08 = {
    "owasp_llm": ["LLM01:2025", "LLM08:2025"],
    "name": "Indirect injection via RAG",
    "mitre_atlas": "AML.T0051.001",
}


def analyze(case: Case, db: Database) -> list[Finding]:
    calls = [e for e in case.events if isinstance(e, LLMCall) and e.retrieved]
    flagged = [e for e in calls if is_flagged(e)]
    clean = [e for e in calls if not is_flagged(e)]
    if not flagged:
        return []
    in_flagged = Counter(s for e in flagged for s in {c.source or "(unknown)" for c in e.retrieved})
    in_clean = Counter(s for e in clean for s in {c.source or "(unknown)" for c in e.retrieved})
    ingested = _ingestion(case)
    out = []
    for source, n in in_flagged.most_common(3):
        f_share, c_share = n / len(flagged), in_clean[source] / max(len(clean), 1)
        if f_share < 0.3 or f_share <= c_share:
            continue
        when = ingested.get(source)
        recent = when is not None and case.start <= when <= case.onset
        conf = 0.35 + 0.45 * f_share * (1 - c_share) + (0.15 if recent else 0.0)
        docs = Counter(c.doc_id for e in flagged for c in e.retrieved if c.source == source)
        out.append(
            Finding(
                analyzer="rag_provenance",
                title=f"RAG source {source} is behind the flagged answers",
                cause=f"rag_source:{source}",
                confidence=round(min(conf, 0.97), 3),
                summary=(
                    f"Source {source} was retrieved in {f_share:.0%} of {len(flagged)} flagged "
                    f"answers and {c_share:.0%} of clean ones"
                    + (f"; first ingested {when:%Y-%m-%d %H:%M:%S} UTC." if when else ".")
                ),
                evidence_ids=case.evidence_for("llm.call", "rag.document"),
                event_ids=[e.event_id for e in flagged][:50],
                taxonomy=LLM08,
                details={
                    "source": source,
                    "flagged_share": f_share,
                    "clean_share": c_share,
                    "documents": dict(docs.most_common(10)),
                    "ingested_at": when.isoformat() if when else None,
                },
            )
        )
    return out


def _ingestion(case: Case) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for d in case.of_kind("rag.document", history=True):
        src = getattr(d, "source", None)
        if src and src not in first:
            first[src] = utc(d.ts)
    return first
