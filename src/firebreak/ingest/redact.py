"""Redaction at ingest: hash user and session ids; mask PII and secrets in prompts and responses.

Redaction is idempotent: redacting an already redacted event changes nothing, because a
hashed id keeps a recognisable shape and the masks match none of the patterns.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from firebreak.config import RedactionSettings
from firebreak.events import Event, LLMCall

HASHED = re.compile(r"^anon_[0-9a-f]{16}$")

# Shapes of secrets that leak into prompts: provider API keys, cloud keys, our own tokens.
_API_KEY = (
    r"(?:sk|pk|rk)-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{20,}"
    r"|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}|fbk_[A-Za-z0-9_\-]{20,}"
    r"|hf_[A-Za-z0-9]{30,}"
)
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_CARD = r"(?<![\w-])\d(?:[ \-]?\d){12,18}(?![\w-])"
_PHONE = (
    r"(?<![\w+.])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?"
    r"\d{2,4}[ .\-]\d{3,4}(?:[ .\-]\d{2,4})?(?![\w-]|\.\d)"
)
_EMAIL_RE = re.compile(_EMAIL)
_API_KEY_RE = re.compile(_API_KEY)
_NUMBER_RE = re.compile(f"(?P<card>{_CARD})|(?P<phone>{_PHONE})")
# Cheap scans that let most texts skip the costlier patterns (measured in bench/ingest.py).
_KEY_HINT = re.compile(r"[sprk]k-|AKIA|gh[pousr]_|github_pat_|xox|AIza|fbk_|hf_")
# Every key shape above contains one of these; substring tests are much cheaper than a regex.
_KEY_PARTS = ("k-", "_", "AKIA", "xox", "AIza")
_SEVEN_DIGITS = re.compile(r"\d(?:[ ().+\-]{0,3}\d){6}")
_NOT_ASCII_DIGITS = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)


def _may_hold_seven_digits(text: str) -> bool:
    """False when `text` surely has no run `_SEVEN_DIGITS` matches: an ASCII text with fewer
    than seven digits in all (counted in C, a quarter of the regex's cost). Other texts, where
    \\d also matches non-ASCII digits, get the regex."""
    if text.isascii() and len(text.encode().translate(None, _NOT_ASCII_DIGITS)) < 7:
        return False
    return _SEVEN_DIGITS.search(text) is not None


MASKS = {"api_key": "[API_KEY]", "email": "[EMAIL]", "card": "[CARD]", "phone": "[PHONE]"}


@lru_cache(maxsize=65_536)
def _pseudonym(salt: bytes, value: str) -> str:
    return "anon_" + hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()[:16]


def luhn_ok(digits: str) -> bool:
    """True when `digits` passes the Luhn check (the one card numbers carry)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _may_hold_key(text: str) -> bool:
    # _KEY_PARTS unrolled: a generator over five substrings cost more than the tests.
    return ("_" in text or "k-" in text or "AKIA" in text or "xox" in text
            or "AIza" in text) and _KEY_HINT.search(text) is not None


@dataclass(frozen=True)
class Redactor:
    """Applies the redaction settings to events (in place) and to query values."""

    settings: RedactionSettings

    @cached_property
    def _salt(self) -> bytes:
        return self.settings.salt.get_secret_value().encode()

    @cached_property
    def _pseudonyms(self) -> dict[str, str]:
        # value -> pseudonym; hashed ids map to themselves. A dict lookup costs a tenth of
        # the lru_cache call below it, and ingest hashes two ids per call.
        return {}

    def hash_id(self, value: str | None) -> str | None:
        """A stable, salted pseudonym for an id; already hashed ids pass through."""
        if value is None:
            return None
        known = self._pseudonyms.get(value)
        if known is not None:
            return known
        if value.startswith("anon_") and HASHED.match(value):
            out = value
        else:
            out = _pseudonym(self._salt, value)
        if len(self._pseudonyms) >= 65_536:
            self._pseudonyms.clear()
        self._pseudonyms[value] = out
        return out

    def may_need_mask(self, text: str) -> bool:
        """False when `mask` would surely leave `text` as it is (a cheap scan)."""
        s = self.settings
        return bool(text) and (
            (s.api_keys and _may_hold_key(text)) or (s.emails and "@" in text)
            or ((s.cards or s.phones) and _may_hold_seven_digits(text)))

    def mask(self, text: str) -> str:
        """`text` with the enabled kinds of PII and secrets replaced by [MASKS]."""
        s = self.settings
        if not text:
            return text
        if s.api_keys and _may_hold_key(text):
            text = _API_KEY_RE.sub(MASKS["api_key"], text)
        if s.emails and "@" in text:
            text = _EMAIL_RE.sub(MASKS["email"], text)
        if (s.cards or s.phones) and _may_hold_seven_digits(text):
            text = _NUMBER_RE.sub(self._number, text)
        return text

    def _number(self, m: re.Match[str]) -> str:
        kind = m.lastgroup or ""
        digits = re.sub(r"\D", "", m.group(0))
        # Not every long digit run is a card, nor every short one a phone number.
        if kind == "card" and self.settings.cards and luhn_ok(digits):
            return MASKS["card"]
        if kind == "phone" and self.settings.phones and len(digits) >= 7:
            return MASKS["phone"]
        return m.group(0)

    def redact(self, event: Event) -> Event:
        """Redact one event in place (and return it)."""
        s = self.settings
        if not s.enabled:
            return event
        # A str field replaced by a str: written straight into the model's __dict__, as
        # pydantic's own __setattr__ does for a plain field (the field is already set).
        fields = event.__dict__
        if s.hash_ids and fields.get("user_id") is not None:
            fields["user_id"] = self.hash_id(fields["user_id"])
        if isinstance(event, LLMCall):
            if s.hash_ids and event.session_id is not None:
                fields["session_id"] = self.hash_id(event.session_id)
            self._mask_call(event)
        return event

    def _mask_call(self, call: LLMCall) -> None:
        texts = [m.content for m in call.messages]
        if call.response:
            texts.append(call.response)
        if call.tool_calls:
            texts += [tool.output for tool in call.tool_calls if tool.output]
        # One scan over all the texts of the call: most calls hold nothing to mask.
        # NUL joins them: no hint spans it, so no text hides behind its neighbours.
        if not self.may_need_mask("\0".join(texts)):
            return
        mask = self.mask
        for message in call.messages:
            masked = mask(message.content)
            if masked is not message.content:  # assigning a pydantic field is not free
                message.content = masked
        if call.response:
            masked = mask(call.response)
            if masked is not call.response:
                call.response = masked
        for tool in call.tool_calls:
            if tool.output:
                tool.output = mask(tool.output)
