"""Canary tokens: a per-deployment secret placed in the system prompt. An answer that
contains it means the system prompt leaked."""

from __future__ import annotations

import re
import secrets

from firebreak.events import Span, Verdict
from firebreak.scan.base import DEFAULT_CONTEXT, ScanContext, Target, clean, verdict


def new_canary() -> str:
    """A fresh canary token, unlikely to appear in any text by chance."""
    return f"fbk-canary-{secrets.token_hex(8)}"


class CanaryScanner:
    """Flags an answer that contains the deployment's canary token (system-prompt leak)."""

    name = "canary"
    targets: tuple[Target, ...] = ("output",)

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> Verdict:
        canary = context.canary
        if not canary:
            return clean(self.name, context)
        # Tolerate the model re-spacing or re-casing the token.
        loose = r"\s*".join(re.escape(c) for c in canary)
        m = re.search(loose, text, re.IGNORECASE)
        if m is None:
            return clean(self.name, context)
        return verdict(self.name, context, score=1.0, label="canary_leak",
                       spans=[Span(start=m.start(), end=m.end(), text=m.group(0))],
                       reason="the answer contains the deployment's canary token: "
                              "the system prompt leaked")
