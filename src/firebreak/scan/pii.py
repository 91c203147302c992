"""PII and secrets in answers: e-mail addresses, phone numbers, card numbers (Luhn
checked), API-key and private-key shapes. `redact()` replaces what a verdict found."""

from __future__ import annotations

import re

from firebreak.events import Span, Verdict
from firebreak.scan.base import DEFAULT_CONTEXT, ScanContext, Target, clean, verdict

PII: dict[str, re.Pattern[str]] = {
    "card": re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"),
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "phone": re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])"
                        r"\d{3,4}[\s.-]\d{3,4}(?!\w)"),
}
SECRETS: dict[str, re.Pattern[str]] = {
    "openai_key": re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack_token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "private_key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
}


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _find(text: str, table: dict[str, re.Pattern[str]]) -> list[tuple[str, Span]]:
    found: list[tuple[str, Span]] = []
    for kind, rx in table.items():
        for m in rx.finditer(text):
            if kind == "card" and not luhn_ok(re.sub(r"\D", "", m.group(0))):
                continue
            if any(m.start() < s.end and s.start < m.end() for _, s in found):
                continue  # a card number is not also a phone number
            found.append((kind, Span(start=m.start(), end=m.end(), text=None)))
    return found


class _Finder:
    name = ""
    label = ""
    table: dict[str, re.Pattern[str]] = {}
    score = 0.9
    targets: tuple[Target, ...] = ("output", "text")

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> Verdict:
        found = _find(text, self.table)
        if not found:
            return clean(self.name, context)
        kinds = sorted({k for k, _ in found})
        # Spans carry positions only: the verdict must not copy the secret it found.
        return verdict(self.name, context, score=self.score, label=self.label,
                       spans=[s for _, s in found[:20]],
                       reason=f"found {len(found)} item(s): {', '.join(kinds)}")


class PIIScanner(_Finder):
    """Flags e-mail addresses, phone numbers and Luhn-valid card numbers."""

    name, label, table, score = "pii", "pii", PII, 0.8


class SecretsScanner(_Finder):
    """Flags API keys, tokens and private keys."""

    name, label, table, score = "secrets", "secret", SECRETS, 0.95


def redact(text: str, verdicts: list[Verdict]) -> str:
    """`text` with every span of the given verdicts replaced by [REDACTED:<label>]."""
    spans = sorted(((s.start, s.end, v.label) for v in verdicts for s in v.spans), reverse=True)
    last = len(text) + 1
    for start, end, label in spans:
        if end <= last:  # skip overlaps
            text = text[:start] + f"[REDACTED:{label}]" + text[end:]
            last = start
    return text
