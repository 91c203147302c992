"""The forensic report as data: executive summary, timeline, findings, evidence, actions,
recommendations and a blameless post-mortem draft. Rendering lives in render.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from firebreak import __version__
from firebreak.config import Settings
from firebreak.forensics.analyzers import run_all, top_cause
from firebreak.forensics.case import Case, Finding, is_flagged, load_case, utc
from firebreak.forensics.evidence import list_evidence
from firebreak.forensics.snapshot import evidence_index
from firebreak.forensics.timeline import merged_timeline
from firebreak.forensics.verify import verify
from firebreak.store.db import Database

BUCKETS = 30
ADVICE = {
    "api_key": "Keep API key {v} blocked, rotate it and review who owns it; replay the campaign "
    "as a regression suite (firebreak redteam export {inc}).",
    "payload": "Add the shared payload to the scanners' regression suite and deny patterns.",
    "rag_source": "Keep RAG source {v} quarantined; review and clean its documents before "
    "re-ingesting; require provenance checks at ingestion.",
    "model_version": "Keep traffic on the previous version; promote {v} again only after it "
    "passes the evaluation suite in a canary.",
    "training_batch": "Exclude batch {v} from training, retrain from the last clean data, and add "
    "label-consistency checks to the training pipeline.",
    "artifact": "Pin model artifacts by digest, verify them on load; find out who replaced {v}.",
    "feature_drift": "Check the upstream pipeline that produces feature {v}; retrain or "
    "recalibrate if the shift is real.",
    "prompt_template": "Roll back prompt template {v} and review template changes like code.",
    "policy": "Review guard-policy change {v} and who made it.",
}


def build_report(
    db: Database, settings: Settings, incident_id: str, window_seconds: int = 900
) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    case = load_case(db, incident_id, window_seconds)
    records = list_evidence(db, incident_id)
    case.evidence_ids = evidence_index(records)
    findings = run_all(case, db)
    timeline = merged_timeline(db, case)
    recs = recommendations(findings, incident_id)
    checked = verify(db, settings, incident_id)
    return {
        "generated_at": datetime.now(UTC),
        "firebreak_version": __version__,
        "incident": case.incident.model_dump(mode="json"),
        "summary": summary(case, findings, recs),
        "timeline": timeline,
        "findings": [f.model_dump(mode="json") for f in findings],
        "evidence": records,
        "actions": [t for t in timeline if t["kind"] in ("action", "policy", "notify", "status")],
        "recommendations": recs,
        "charts": chart_data(case, findings),
        "verification": {
            "ok": checked.ok,
            "records": checked.records,
            "problems": [p.message for p in checked.problems],
        },
        "postmortem": postmortem(case, findings, recs),
    }


def _impact(findings: list[Finding]) -> Finding | None:
    return next((f for f in findings if f.analyzer == "blast_radius"), None)


def summary(case: Case, findings: list[Finding], recs: list[str]) -> dict[str, Any]:
    top, impact = top_cause(findings), _impact(findings)
    return {
        "impact": impact.summary if impact else "No affected requests found in the window.",
        "cause": (
            f"{top.title} (confidence {top.confidence:.0%}). {top.summary}"
            if top
            else "No cause stood out; see the timeline and evidence."
        ),
        "top_cause": top.cause if top else None,
        "status": f"{case.incident.status} ({case.incident.severity}, {case.incident.category})",
        "next_steps": recs[:3],
    }


def recommendations(findings: list[Finding], incident_id: str) -> list[str]:
    out = []
    for f in findings:
        kind, _, value = f.cause.partition(":")
        text = ADVICE.get(kind)
        if text and f.confidence >= 0.5:
            line = text.format(v=value, inc=incident_id)
            if line not in out:
                out.append(line)
    out.append(f"Check the evidence is intact: firebreak evidence verify {incident_id}.")
    return out


def chart_data(case: Case, findings: list[Finding]) -> dict[str, Any]:
    """Affected share per time bucket around onset, affected totals, attack cluster sizes."""
    lo, hi = case.start, case.onset + (case.onset - case.start)
    width = (hi - lo) / BUCKETS
    total, bad = [0] * BUCKETS, [0] * BUCKETS
    for e in case.events:
        if e.kind in ("llm.call", "prediction") and lo <= utc(e.ts) < hi:
            i = min(int((utc(e.ts) - lo) / width), BUCKETS - 1)
            total[i] += 1
            bad[i] += is_flagged(e)
    impact = _impact(findings)
    clusters = [f for f in findings if f.analyzer == "attack_clustering"]
    return {
        "labels": [f"{lo + width * i:%H:%M}" for i in range(BUCKETS)],
        "metric": "flagged share" if any(bad) else "requests",
        "flagged_share": [b / t if t else 0.0 for b, t in zip(bad, total, strict=True)]
        if any(bad)
        else [float(t) for t in total],
        "requests": total,
        "onset_index": int((case.onset - lo) / width),
        "affected": impact.details["affected"] if impact else 0,
        "requests_total": impact.details["requests"] if impact else 0,
        "clusters": [
            {"label": (f.cause.split(":", 1)[1])[:30], "size": f.details["size"]} for f in clusters
        ],
    }


def _minutes(a: datetime | None, b: datetime | None) -> str:
    if a is None or b is None:
        return "unknown"
    return f"{(utc(b) - utc(a)) / timedelta(minutes=1):.1f} min"


def postmortem(case: Case, findings: list[Finding], recs: list[str]) -> dict[str, str]:
    """A blameless draft: sections the data can fill are filled, the rest are prompts."""
    inc, top, impact = case.incident, top_cause(findings), _impact(findings)
    return {
        "Summary": f"{inc.title} on {inc.deployment} ({inc.severity}).",
        "Impact": impact.summary if impact else "To be filled: who noticed, what they saw.",
        "Root cause": (
            f"{top.summary} (confidence {top.confidence:.0%}; analyzer {top.analyzer})"
            if top
            else "To be determined with the evidence."
        ),
        "Detection": f"Opened {_minutes(case.onset, inc.opened_at)} after the estimated onset.",
        "Response": f"Contained {_minutes(case.onset, case.contained_at)} after onset.",
        "What went well": "To be filled by the responders (automated containment, evidence "
        "captured, ...).",
        "What was hard": "To be filled: systems and processes that made this possible — "
        "no individual blame.",
        "Action items": "\n".join(f"- {r}" for r in recs),
    }
