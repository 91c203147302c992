"""Model-artifact fingerprints: the SHA-256 behind each model version, kept from first sight.

An artifact whose bytes change while its version stays the same is a supply-chain finding
(OWASP LLM03). Artifacts come from config (`forensics.artifacts`, 'deployment@version' ->
path or URI) or from an event attribute `model_artifact` (plus `model_digest` for a
registry URI that cannot be read locally).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from firebreak.config import Settings
from firebreak.events import Event
from firebreak.store.db import Database
from firebreak.store.forensics import ModelArtifactRow


def artifacts_in_force(
    settings: Settings, deployment: str, events: Iterable[Event]
) -> dict[str, tuple[str, str | None]]:
    """version -> (uri, digest given by telemetry or None) for the versions seen in events."""
    out: dict[str, tuple[str, str | None]] = {}
    for e in events:
        if not e.model_version or e.model_version in out:
            continue
        attrs = e.attributes or {}
        uri = settings.forensics.artifacts.get(f"{deployment}@{e.model_version}") or attrs.get(
            "model_artifact"
        )
        if uri:
            out[e.model_version] = (str(uri), attrs.get("model_digest"))
    for key, uri in settings.forensics.artifacts.items():
        dep, _, version = key.partition("@")
        if dep == deployment and version and version not in out:
            out[version] = (uri, None)
    return out


def fingerprint(uri: str, digest: str | None = None) -> str | None:
    """SHA-256 of a local file or directory (sorted walk), else the digest telemetry gave."""
    path = Path(uri.removeprefix("file://"))
    if path.is_file():
        return _hash_files([path], path.parent)
    if path.is_dir():
        return _hash_files(sorted(p for p in path.rglob("*") if p.is_file()), path)
    return digest


def _hash_files(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root)).encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def check_artifacts(
    db: Database, deployment: str, artifacts: dict[str, tuple[str, str | None]]
) -> list[dict[str, Any]]:
    """Fingerprint each artifact; record first sight; report whether the bytes changed."""
    now = datetime.now(UTC)
    out = []
    with db.write() as session:
        for version, (uri, digest) in sorted(artifacts.items()):
            sha = fingerprint(uri, digest)
            if sha is None:
                continue
            row = session.scalar(
                select(ModelArtifactRow).where(
                    ModelArtifactRow.deployment == deployment,
                    ModelArtifactRow.model_version == version,
                    ModelArtifactRow.uri == uri,
                )
            )
            if row is None:
                row = ModelArtifactRow(
                    deployment=deployment,
                    model_version=version,
                    uri=uri,
                    sha256=sha,
                    first_seen=now,
                    last_checked=now,
                    last_sha256=sha,
                )
                session.add(row)
            row.last_checked, row.last_sha256 = now, sha
            out.append(
                {
                    "deployment": deployment,
                    "model_version": version,
                    "uri": uri,
                    "first_sha256": row.sha256,
                    "sha256": sha,
                    "changed": sha != row.sha256,
                }
            )
    return out


def changed_artifacts(db: Database, deployment: str) -> list[dict[str, Any]]:
    """Artifacts of `deployment` whose latest fingerprint differs from the first one."""
    q = select(ModelArtifactRow).where(
        ModelArtifactRow.deployment == deployment,
        ModelArtifactRow.sha256 != ModelArtifactRow.last_sha256,
    )
    with db.session() as session:
        return [
            {
                "model_version": r.model_version,
                "uri": r.uri,
                "first_sha256": r.sha256,
                "sha256": r.last_sha256,
                "first_seen": r.first_seen,
            }
            for r in session.scalars(q)
        ]
