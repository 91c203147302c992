"""Matchers and silences, with Alertmanager's semantics.

A matcher is `{name, value, isRegex, isEqual}` as in Alertmanager's v2 API; a regex
matches the whole label value (anchored). A silence mutes every alert whose labels match
all of its matchers while `starts_at <= now < ends_at`; expiring sets `ends_at` to now.
Silenced alerts are still recorded and still join incidents: only notifications stop.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from firebreak.errors import NotFound, ValidationFailed
from firebreak.store.alerting import SilenceRow
from firebreak.store.db import Database


class Matcher(BaseModel):
    """One label condition."""

    name: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=1000)
    isRegex: bool = False  # noqa: N815 - Alertmanager's wire name
    isEqual: bool = True  # noqa: N815

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.isRegex:
            _compile(self.value)
        return self

    def matches(self, labels: Mapping[str, Any]) -> bool:
        actual = str(labels.get(self.name, ""))
        hit = bool(_compile(self.value).fullmatch(actual)) if self.isRegex else (
            actual == self.value)
        return hit == self.isEqual


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValidationFailed("matchers.value", f"bad regex {pattern!r}: {exc}") from exc


def parse_matcher(text: str) -> Matcher:
    """`name=value`, `name!=value`, `name=~regex` or `name!~regex` (the amtool syntax)."""
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"?(.*?)\"?\s*", text)
    if not m:
        raise ValidationFailed("matcher", f"{text!r} is not name=value, name!=value, "
                               "name=~regex or name!~regex")
    name, op, value = m.groups()
    return Matcher(name=name, value=value, isRegex="~" in op, isEqual=op[0] == "=")


def all_match(matchers: list[Matcher], labels: Mapping[str, Any]) -> bool:
    return all(m.matches(labels) for m in matchers)


class Silence(BaseModel):
    """A silence as the API shows it."""

    id: str
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""
    created_at: datetime

    def state(self, now: datetime) -> str:
        if _aware(self.ends_at) <= now:
            return "expired"
        return "pending" if _aware(self.starts_at) > now else "active"


def create_silence(db: Database, *, matchers: list[Matcher], created_by: str, comment: str = "",
                   starts_at: datetime | None = None, ends_at: datetime | None = None,
                   duration: timedelta | None = None, now: datetime | None = None) -> Silence:
    """Store a silence; it needs at least one matcher and an end after its start."""
    now = now or datetime.now(UTC)
    if not matchers:
        raise ValidationFailed("matchers", "a silence needs at least one matcher")
    if all(m.matches({}) for m in matchers):
        raise ValidationFailed("matchers", "these matchers would silence every alert")
    start = _aware(starts_at or now)
    end = _aware(ends_at) if ends_at else start + (duration or timedelta(hours=1))
    if end <= start:
        raise ValidationFailed("ends_at", "must be after starts_at")
    silence = Silence(id="sil-" + uuid.uuid4().hex[:12], matchers=matchers, starts_at=start,
                      ends_at=end, created_by=created_by, comment=comment, created_at=now)
    with db.write() as session:
        data = silence.model_dump()
        data["matchers"] = [m.model_dump() for m in matchers]
        session.add(SilenceRow(**data))
    return silence


def list_silences(db: Database, *, state: str | None = None,
                  now: datetime | None = None) -> list[Silence]:
    """Silences, newest first, optionally only those `active`, `pending` or `expired`."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        rows = session.scalars(select(SilenceRow).order_by(SilenceRow.created_at.desc()))
        found = [Silence.model_validate(r, from_attributes=True) for r in rows]
    return [s for s in found if state is None or s.state(now) == state]


def expire_silence(db: Database, silence_id: str, *, now: datetime | None = None) -> Silence:
    """End a silence now (an expired one stays expired)."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        row = session.get(SilenceRow, silence_id)
        if row is None:
            raise NotFound(f"silence {silence_id} does not exist", silence_id=silence_id)
        if _aware(row.ends_at) > now:
            row.ends_at = now
            if _aware(row.starts_at) > now:
                row.starts_at = now
        return Silence.model_validate(row, from_attributes=True)


def silenced_by(silences: list[Silence], labels: Mapping[str, Any], now: datetime) -> str | None:
    """The id of the first active silence muting `labels`, if any."""
    for s in silences:
        if s.state(now) == "active" and all_match(s.matchers, labels):
            return s.id
    return None


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
