"""API tokens: created once (the secret is shown once), stored as SHA-256, checked by scope."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from firebreak.errors import NotFound, ValidationFailed
from firebreak.store.db import Database
from firebreak.store.models import TokenRow

SCOPES = ("ingest", "read", "operate", "admin")
PREFIX = "fbk_"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None

    def allows(self, scope: str) -> bool:
        # admin may do everything; operate implies read.
        return scope in self.scopes or "admin" in self.scopes or (
            scope == "read" and "operate" in self.scopes
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    db: Database, *, name: str, scopes: list[str], ttl: timedelta | None = None
) -> tuple[str, TokenInfo]:
    """Create a token; returns (the secret, its info). The secret is not stored."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValidationFailed("scope", f"must be some of {', '.join(SCOPES)}; got {bad or 'none'}")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = TokenRow(name=name, token_hash=hash_token(secret), scopes=",".join(sorted(set(scopes))),
                   created_at=now, expires_at=now + ttl if ttl else None)
    with db.write() as session:
        session.add(row)
        session.flush()
        info = _info(row)
    return secret, info


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(row.id, row.name, frozenset(row.scopes.split(",")), row.expires_at)


def verify_token(db: Database, secret: str) -> TokenInfo | None:
    """The token's info if it exists, is not revoked and has not expired."""
    with db.session() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(secret)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and _aware(row.expires_at) <= datetime.now(UTC):
        return None
    return _info(row)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def list_tokens(db: Database) -> list[dict[str, object]]:
    with db.session() as session:
        rows = session.scalars(select(TokenRow).order_by(TokenRow.id))
        return [{"id": r.id, "name": r.name, "scopes": r.scopes, "created_at": r.created_at,
                 "expires_at": r.expires_at, "revoked": r.revoked_at is not None} for r in rows]


def revoke_token(db: Database, token_id: int) -> None:
    with db.write() as session:
        row = session.get(TokenRow, token_id)
        if row is None:
            raise NotFound(f"token {token_id} does not exist", token_id=token_id)
        row.revoked_at = datetime.now(UTC)
