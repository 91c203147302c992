"""The scanner contract: `scan(text, context) -> Verdict`.

A scanner is any object with a `name` and a `scan` method. The gateway calls scanners
inline on every request and answer, so `scan` must be fast (microseconds to a couple of
milliseconds) and must never raise on odd text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from firebreak.events import Span, Verdict

Target = Literal["input", "output", "chunk", "tool", "text"]
Mode = Literal["monitor", "block", "redact"]


@dataclass(frozen=True)
class ScanContext:
    """What a scanner knows about the text besides the text itself.

    `target` says where the text sits (user input, model output, a retrieved chunk, a tool
    output, or free text); `doc_id`/`source` name a retrieved chunk; `canary` is the
    deployment's canary token; `thresholds` override a scanner's flag threshold by name;
    `strict` lowers every threshold (guard policy strict mode).
    """

    target: Target = "text"
    deployment: str | None = None
    doc_id: str | None = None
    source: str | None = None
    canary: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    strict: bool = False
    mode: Mode = "monitor"

    def threshold(self, scanner: str, default: float) -> float:
        """The flag threshold for `scanner`, halved-ish in strict mode."""
        value = self.base_threshold(scanner, default)
        return value * STRICT_FACTOR if self.strict else value

    def base_threshold(self, scanner: str, default: float) -> float:
        """The flag threshold for `scanner` outside strict mode."""
        return self.thresholds.get(scanner, default)


STRICT_FACTOR = 0.6
DEFAULT_CONTEXT = ScanContext()


@runtime_checkable
class Scanner(Protocol):
    """A per-text check. `targets` lists where the gateway should run it."""

    name: str
    targets: tuple[Target, ...]

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> Verdict: ...


def verdict(scanner: str, context: ScanContext, *, score: float, label: str,
            spans: list[Span] | None = None, reason: str = "",
            threshold: float | None = None) -> Verdict:
    """Build a Verdict with the action the context's mode implies for a flagged text.

    `threshold` is the scanner's own flag threshold (before strict mode lowers it): a text
    flagged only below it is marked `strict_only`, which detectors do not count.
    """
    flagged = label not in ("clean", "allow", "benign")
    action = ("block" if context.strict else context.mode) if flagged else "allow"
    strict_only = (flagged and context.strict and threshold is not None
                   and score < context.base_threshold(scanner, threshold))
    return Verdict(scanner=scanner, score=round(min(max(score, 0.0), 1.0), 4), label=label,
                   spans=spans or [], reason=reason, target=context.target,
                   doc_id=context.doc_id, source=context.source, action=action,
                   strict_only=strict_only)


def clean(scanner: str, context: ScanContext, score: float = 0.0) -> Verdict:
    """A verdict that found nothing."""
    return verdict(scanner, context, score=score, label="clean")
