"""Redaction: what gets masked, what does not, and that redacting twice changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firebreak.config import RedactionSettings
from firebreak.ingest.redact import Redactor, luhn_ok

R = Redactor(RedactionSettings())


@pytest.mark.parametrize(("text", "expected"), [
    ("write to bob.smith@example.co.uk now", "write to [EMAIL] now"),
    ("card 4111 1111 1111 1111.", "card [CARD]."),
    ("card 4111-1111-1111-1112", "card 4111-1111-1111-1112"),  # fails Luhn: not a card
    ("call +1 415 555 0134 or (555) 123-4567", "call [PHONE] or [PHONE]"),
    ("key sk-proj-abcdefghijklmnopqrstuvwxyz0123 and AKIAIOSFODNN7EXAMPLE",
     "key [API_KEY] and [API_KEY]"),
    (KEEP := "on 2026-01-01 at 12:30 from 10.0.0.12, order 1234567", KEEP),
])
def test_masks(text: str, expected: str) -> None:
    assert R.mask(text) == expected


def test_settings_switch_kinds_off() -> None:
    only_email = Redactor(RedactionSettings(phones=False, cards=False, api_keys=False))
    assert only_email.mask("a@b.io 4111111111111111") == "[EMAIL] 4111111111111111"


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713") and not luhn_ok("79927398710")


def test_hash_depends_on_salt_and_is_stable() -> None:
    other = Redactor(RedactionSettings(salt="pepper"))  # type: ignore[arg-type]
    assert R.hash_id("alice") == R.hash_id("alice") != other.hash_id("alice")
    assert R.hash_id(None) is None


@given(st.text(alphabet=st.sampled_from("ab @.+-()0123456789sk_AKIZ"), max_size=80))
def test_masking_is_idempotent(text: str) -> None:
    once = R.mask(text)
    assert R.mask(once) == once


@given(st.text(max_size=30))
def test_hashing_is_idempotent(value: str) -> None:
    once = R.hash_id(value)
    assert R.hash_id(once) == once
