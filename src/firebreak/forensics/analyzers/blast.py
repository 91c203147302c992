"""Blast radius: requests, users and sessions affected; bad answers served before containment."""

from __future__ import annotations

from firebreak.events import LLMCall
from firebreak.forensics.case import Case, Finding, is_flagged, utc
from firebreak.store.db import Database


def analyze(case: Case, db: Database) -> list[Finding]:
    until = case.contained_at or case.end
    live = [
        e
        for e in case.events
        if case.onset <= utc(e.ts) < until and e.kind in ("llm.call", "prediction")
    ]
    if not live:
        return []
    hit = [e for e in live if is_flagged(e)]
    served = [e for e in hit if not (isinstance(e, LLMCall) and e.status == "blocked")]
    users = {getattr(e, "user_id", None) for e in hit} - {None}
    sessions = {getattr(e, "session_id", None) for e in hit} - {None}
    keys = {getattr(e, "api_key_id", None) for e in hit} - {None}
    share = len(hit) / len(live)
    until_txt = "containment" if case.contained_at else "now"
    return [
        Finding(
            analyzer="blast_radius",
            kind="impact",
            title=f"{len(hit)} of {len(live)} requests affected ({share:.0%}) before {until_txt}",
            cause="impact",
            confidence=1.0,
            summary=(
                f"From onset to {until_txt}: {len(hit)} affected requests, {len(users)} users, "
                f"{len(sessions)} sessions, {len(keys)} API keys; {len(served)} bad answers "
                f"were served (not blocked)."
            ),
            evidence_ids=case.evidence_for("llm.call", "prediction"),
            event_ids=[e.event_id for e in hit][:50],
            details={
                "requests": len(live),
                "affected": len(hit),
                "share": share,
                "users": len(users),
                "sessions": len(sessions),
                "api_keys": len(keys),
                "bad_answers_served": len(served),
            },
        )
    ]
