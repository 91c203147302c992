"""Request bodies: decompression with a size cap, JSON array or NDJSON into raw items.

A body that cannot be read at all raises `BodyRejected` (the API answers 4xx); an NDJSON
line that is not JSON only spoils itself: it comes back as a `BadItem` at its index.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from firebreak.errors import FirebreakError

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/ndjson",
                "application/x-jsonlines", "application/json-seq")


class BodyRejected(FirebreakError):
    """Raised when a whole request body is refused: too large, unreadable, not JSON."""

    status_code = 400

    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.status_code = status
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class BadItem:
    """An item refused before validation (e.g. an NDJSON line that is not JSON)."""

    field: str
    reason: str


def too_large(size: int, limit: int) -> BodyRejected:
    return BodyRejected(413, "body", f"{size} bytes is more than the limit of {limit} bytes")


def decompress(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """`raw` decoded per Content-Encoding (gzip, deflate, identity), never beyond `limit`."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise BodyRejected(415, "content-encoding", f"{encoding!r} is not supported "
                           "(use gzip, deflate or identity)")
    wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(raw, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BodyRejected(400, "body", f"cannot {encoding}-decode: {exc}") from exc
    if len(out) > limit:  # a small compressed body may inflate past the cap
        raise too_large(len(out), limit)
    return out


def is_ndjson(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in NDJSON_TYPES


def too_many(count: int, limit: int) -> BodyRejected:
    return BodyRejected(413, "body", f"{count} events is more than the limit of {limit} "
                        "per request")


def parse_items(body: bytes, *, ndjson: bool, max_items: int) -> list[Any]:
    """Raw items from a JSON array (or one object) or from NDJSON lines."""
    items = _ndjson(body) if ndjson else _json(body)
    if len(items) > max_items:
        raise too_many(len(items), max_items)
    return items


def may_hold_long_string(body: bytes, limit: int) -> bool:
    """False only when no JSON string in `body` can be longer than `limit` characters.

    Such a string spans more than `limit` bytes without a closing quote (a character takes
    at least one byte). So it is enough to find an unescaped quote in every window of
    `limit + 1` bytes: a couple of `rfind`s per body. A quote after a backslash counts as
    inside a string, which can only make the answer more cautious.
    """
    pos, end = 0, len(body)
    while end - pos > limit:
        q = body.rfind(b'"', pos, pos + limit + 1)
        while q > pos and body[q - 1] == 0x5C:  # 0x5C is the backslash of \"
            q = body.rfind(b'"', pos, q)
        if q < 0:
            return True
        pos = q + 1
    return False


def _json(body: bytes) -> list[Any]:
    if not body.strip():
        raise BodyRejected(400, "body", "empty body: send a JSON array of events")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyRejected(400, "body", f"not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise BodyRejected(400, "body", f"expected a JSON array of events, got {_type(data)}")
    return data


def _ndjson(body: bytes) -> list[Any]:
    items: list[Any] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            items.append(BadItem("body", f"line is not valid JSON: {exc}"))
    return items


def _type(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__)
