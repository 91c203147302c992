"""Which stages each `firebreak serve --role` runs.

- all: every stage of runtime.STAGES (the embedded default).
- api: no stages; HTTP and ingest only (ingest publishes to the bus).
- worker: the scaled monitor (partial windows + elected closer), incidents, forensics, SIEM.
- engine: the playbook engine (replicas share runs through leases and SKIP LOCKED claims).
"""

from __future__ import annotations

from firebreak.runtime import STAGES

ROLES = ("all", "api", "worker", "engine")
_MONITOR = "firebreak.monitor.stage:create"
_PLAYBOOKS = "firebreak.playbooks.stage:create"


def role_stages(role: str) -> list[str] | None:
    """Stage paths for `role`; None means runtime.STAGES unchanged."""
    if role == "all":
        return None
    if role == "api":
        return []
    if role == "engine":
        return [p for p in STAGES if p == _PLAYBOOKS]
    if role == "worker":
        return ["firebreak.scale.worker:create" if p == _MONITOR else p
                for p in STAGES if p != _PLAYBOOKS]
    raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
