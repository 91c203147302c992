"""Token rotation: a new secret with the same name and scopes; the old one expires soon.

The grace period lets clients switch over without an outage; `grace=0` cuts the old
token off at once. Rotation never extends an old token's life.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from firebreak.errors import NotFound, ValidationFailed
from firebreak.store.db import Database
from firebreak.store.models import TokenRow
from firebreak.store.tokens import TokenInfo, create_token


def rotate_token(db: Database, token_id: int, *, grace: timedelta = timedelta(hours=1),
                 ttl: timedelta | None = None) -> tuple[str, TokenInfo]:
    """Issue a replacement for token `token_id`; returns (new secret, new info)."""
    if grace < timedelta(0):
        raise ValidationFailed("grace", "must not be negative")
    with db.session() as session:
        old = session.get(TokenRow, token_id)
    if old is None:
        raise NotFound(f"token {token_id} does not exist", token_id=token_id)
    if old.revoked_at is not None:
        raise ValidationFailed("token_id", f"token {token_id} is revoked; create a new one")
    secret, info = create_token(db, name=old.name, scopes=old.scopes.split(","), ttl=ttl)
    cutoff = datetime.now(UTC) + grace
    with db.write() as session:
        row = session.get(TokenRow, token_id)
        assert row is not None
        current = row.expires_at if row.expires_at is None or row.expires_at.tzinfo else \
            row.expires_at.replace(tzinfo=UTC)
        if current is None or current > cutoff:
            row.expires_at = cutoff
        if grace == timedelta(0):
            row.revoked_at = cutoff
    return secret, info
