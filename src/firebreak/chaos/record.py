"""Record a chaos scorecard in the store, for the dashboard's chaos page."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from firebreak.store import Database
from firebreak.store.results import ChaosRun, NewChaosRun, record_chaos_run

log = logging.getLogger(__name__)


def chaos_run_from(card: dict[str, Any], started: datetime,
                   finished: datetime | None = None) -> NewChaosRun:
    """`Scorecard.to_dict()` (what `chaos run --json` prints) as the store's chaos run."""
    return NewChaosRun(profile=card["profile"], started_at=started,
                       finished_at=finished or datetime.now(UTC),
                       warmup_seconds=card.get("warmup_seconds", 0.0),
                       false_incidents=card.get("false_incidents", []),
                       traffic=card.get("traffic", {}), scenarios=card["scenarios"])


def record_scorecard(db: Database, card: dict[str, Any], started: datetime,
                     recorded_by: str = "chaos-runner") -> ChaosRun | None:
    """Store the scorecard; a failure to record is logged, never fails the run itself."""
    try:
        return record_chaos_run(db, chaos_run_from(card, started), recorded_by=recorded_by)
    except Exception:  # the scorecard is still printed and written with --out
        log.exception("could not record the chaos scorecard in the store")
        return None
