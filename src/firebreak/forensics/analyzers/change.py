"""Change correlation: what changed just before onset, and supply-chain artifact changes."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from firebreak.events import Event, LLMCall, Prediction
from firebreak.forensics.artifacts import changed_artifacts
from firebreak.forensics.case import Case, Finding, is_flagged, utc
from firebreak.store.db import Database
from firebreak.store.policy import policy_changes

LLM03 = {"owasp_llm": "LLM03:2025", "name": "Supply Chain"}


def analyze(case: Case, db: Database) -> list[Finding]:
    """Model versions, prompt templates, RAG sources, policy and traffic changes near onset."""
    return [
        *_model_versions(case),
        *_prompt_templates(case),
        *_rag_sources(case),
        *_policy(case, db),
        *_traffic_mix(case),
    ]


def _proximity(case: Case, when: datetime) -> float:
    """1 when a change lands right at onset, falling to 0 at the window's start."""
    span = (case.onset - case.start).total_seconds() or 1.0
    return max(0.0, min(1.0, 1 - (case.onset - utc(when)).total_seconds() / span))


def _near_onset(case: Case, when: datetime) -> bool:
    return case.start <= utc(when) <= case.onset + timedelta(minutes=1)


def _first_seen(events: Sequence[Event], key: str) -> dict[str, datetime]:
    seen: dict[str, datetime] = {}
    for e in events:
        value = getattr(e, key, None)
        if value and value not in seen:
            seen[value] = utc(e.ts)
    return seen


def _model_versions(case: Case) -> list[Finding]:
    events = [e for e in case.events if e.kind in ("llm.call", "prediction")]
    seen = _first_seen(events, "model_version")
    out = []
    for version, when in seen.items():
        older = [v for v, t in seen.items() if t < when]
        if not older or not _near_onset(case, when):
            continue
        effect = _version_effect(events, version, older)
        conf = 0.5 + 0.25 * _proximity(case, when) + 0.2 * effect
        ids = [e.event_id for e in events if e.model_version == version][:50]
        out.append(
            Finding(
                analyzer="change_correlation",
                title=f"Model version {version} went live before onset",
                cause=f"model_version:{version}",
                confidence=round(min(conf, 0.97), 3),
                summary=(
                    f"Model version {version} replaced {', '.join(older)} at {when:%H:%M:%S} UTC, "
                    f"{_ago(case, when)} before onset; outputs differ by {effect:.0%}."
                ),
                evidence_ids=case.evidence_for("llm.call", "prediction")
                + case.evidence_ids.get("model_versions", []),
                event_ids=ids,
                details={
                    "version": version,
                    "previous": older,
                    "first_seen": when.isoformat(),
                    "effect": effect,
                },
            )
        )
    return out


def _version_effect(events: Sequence[Event], version: str, older: list[str]) -> float:
    """How much outputs (predictions) or the flagged rate (LLM calls) differ between versions."""
    new = [e for e in events if e.model_version == version]
    old = [e for e in events if e.model_version in older]
    if not new or not old:
        return 0.0
    if isinstance(new[0], Prediction):
        a = Counter(str(getattr(e, "output", None)) for e in new)
        b = Counter(str(getattr(e, "output", None)) for e in old)
        keys = set(a) | set(b)
        return 0.5 * sum(abs(a[k] / len(new) - b[k] / len(old)) for k in keys)
    return abs(sum(map(is_flagged, new)) / len(new) - sum(map(is_flagged, old)) / len(old))


def _ago(case: Case, when: datetime) -> str:
    secs = int((case.onset - utc(when)).total_seconds())
    return f"{secs // 60} min {secs % 60} s" if secs >= 0 else f"{-secs} s after"


def _prompt_templates(case: Case) -> list[Finding]:
    seen: dict[str, datetime] = {}
    for e in case.events:
        if isinstance(e, LLMCall):
            system = "\n".join(m.content for m in e.messages if m.role in ("system", "developer"))
            tag = str(
                (e.attributes or {}).get("prompt_template")
                or hashlib.sha256(system.encode()).hexdigest()[:10]
            )
            seen.setdefault(tag, utc(e.ts))
    out = []
    for tag, when in seen.items():
        if any(t < when for t in seen.values()) and _near_onset(case, when):
            out.append(
                Finding(
                    analyzer="change_correlation",
                    title=f"Prompt template {tag} appeared before onset",
                    cause=f"prompt_template:{tag}",
                    confidence=round(0.45 + 0.3 * _proximity(case, when), 3),
                    summary=f"A new system prompt / template ({tag}) appeared at {when:%H:%M:%S}.",
                    evidence_ids=case.evidence_for("llm.call"),
                    details={"template": tag},
                )
            )
    return out


def _rag_sources(case: Case) -> list[Finding]:
    docs = case.of_kind("rag.document", history=True)
    seen = _first_seen(docs, "source")
    out = []
    for source, when in seen.items():
        if _near_onset(case, when) and any(t < when for t in seen.values()):
            n = sum(1 for d in docs if getattr(d, "source", None) == source)
            out.append(
                Finding(
                    analyzer="change_correlation",
                    title=f"New RAG source {source} ingested before onset",
                    cause=f"rag_source:{source}",
                    confidence=round(0.4 + 0.25 * _proximity(case, when), 3),
                    summary=f"{n} documents from a new source {source} were ingested at "
                    f"{when:%H:%M:%S} UTC, {_ago(case, when)} before onset.",
                    evidence_ids=case.evidence_for("rag.document"),
                    event_ids=[d.event_id for d in docs if getattr(d, "source", None) == source][
                        :50
                    ],
                    details={"source": source, "ingested_at": when.isoformat(), "documents": n},
                )
            )
    return out


def _policy(case: Case, db: Database) -> list[Finding]:
    out = []
    for c in policy_changes(db, deployment=case.incident.deployment):
        if c["incident_id"] == case.incident.id or not _near_onset(case, c["ts"]):
            continue
        out.append(
            Finding(
                analyzer="change_correlation",
                title=f"Guard policy v{c['version']} changed before onset",
                cause=f"policy:v{c['version']}",
                confidence=round(0.3 + 0.2 * _proximity(case, c["ts"]), 3),
                summary=f"{c['actor']} changed the guard policy ({c['reason'] or 'no reason'}).",
                evidence_ids=case.evidence_ids.get("policy", []),
                details={"change_id": c["id"]},
            )
        )
    return out


def _traffic_mix(case: Case) -> list[Finding]:
    calls = [e for e in case.events if isinstance(e, LLMCall) and e.api_key_id]
    before = Counter(e.api_key_id for e in calls if utc(e.ts) < case.onset)
    after = Counter(e.api_key_id for e in calls if utc(e.ts) >= case.onset)
    if sum(after.values()) < 20:
        return []
    nb, na = sum(before.values()) or 1, sum(after.values())
    key, rise = max(((k, after[k] / na - before[k] / nb) for k in after), key=lambda kv: kv[1])
    if rise < 0.2:
        return []
    return [
        Finding(
            analyzer="change_correlation",
            title=f"Traffic mix shifted to API key {key}",
            cause=f"api_key:{key}",
            confidence=round(min(0.3 + 0.4 * rise, 0.7), 3),
            summary=f"API key {key} went from {before[key] / nb:.0%} to {after[key] / na:.0%}.",
            evidence_ids=case.evidence_for("llm.call"),
            details={"api_key": key, "rise": rise},
        )
    ]


def supply_chain(case: Case, db: Database) -> list[Finding]:
    """Artifacts whose bytes changed while their model version did not (OWASP LLM03)."""
    return [
        Finding(
            analyzer="supply_chain",
            title=f"Artifact of {a['model_version']} changed without a new version",
            cause=f"artifact:{case.incident.deployment}@{a['model_version']}",
            confidence=0.9,
            summary=(
                f"{a['uri']} (version {a['model_version']}) was {a['first_sha256'][:12]} at first"
                f" sight and is now {a['sha256'][:12]}: the model changed under the same version."
            ),
            evidence_ids=case.evidence_ids.get("model_versions", []),
            details=a,
            taxonomy=LLM03,
        )
        for a in changed_artifacts(db, case.incident.deployment)
    ]
