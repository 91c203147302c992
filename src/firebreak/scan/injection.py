"""Prompt injection and jailbreak in user input: the trained classifier, explained by the
heuristic patterns (which span triggered) or, failing those, by its strongest n-grams.

Every text is read in several views (scan/normalise.py: as given, normalised against
zero-width characters, homoglyphs and leetspeak, and decoded base64/rot13 payloads); the
verdict is the highest-scoring view, and its reason names the view when it is not the
text as given (span offsets then refer to that view's text)."""

from __future__ import annotations

import numpy as np

from firebreak.events import Span, Verdict
from firebreak.scan.base import DEFAULT_CONTEXT, ScanContext, Target, clean, verdict
from firebreak.scan.classifier import LinearModel, cut, load, top_buckets, word_spans
from firebreak.scan.normalise import View, views
from firebreak.scan.patterns import Pattern, matches

SPAN_CHARS = 2000  # look for explaining spans in the head only: bounded time
# Patterns whose precision on the `train` split (plus synthetic benign rows) is >= 0.99
# with at least 20 hits; one hit alone is enough to flag. Chosen on train only
# (switch_task and new_instructions: 3 and 5 hits, none benign; kept for their precision
# by construction: they need an "ignore ... and just say" / "new instructions from X:").
STRONG = frozenset({"ignore_instructions", "ignore_de", "ignore_es_fr", "you_are_now",
                    "pretend_roleplay", "no_restrictions", "as_an_ai", "begin_with", "instead",
                    "override_mode", "refusal_suppression", "rogue_persona", "switch_task",
                    "new_instructions"})
STRONG_SCORE = 0.97
QUOTED_CHARS = 500  # joined quoted fragments: patterns read this many chars
_NONE = np.zeros(0)


class InjectionScanner:
    """Flags direct prompt injection and jailbreak attempts in user input."""

    name = "injection"
    targets: tuple[Target, ...] = ("input", "text")

    def __init__(self, model: LinearModel | None = None) -> None:
        self._model = model

    @property
    def model(self) -> LinearModel:
        if self._model is None:
            self._model = load()
        return self._model

    @property
    def threshold(self) -> float:
        """The shipped threshold, chosen on the `train` split only."""
        return self.model.threshold

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> Verdict:
        if not text.strip():
            return clean(self.name, context)
        best: tuple[float, View, list[tuple[Pattern, Span]], np.ndarray, np.ndarray] | None = None
        # Only the head and the tail of a long text reach the classifier (classifier.cut):
        # reading views of that much alone bounds the work on long texts.
        read = views(cut(text, self.model.params))
        if len(read) > 1 and read[1].note == "normalised":
            read = read[1:]  # the classifier normalises anyway: score the text once
        for n, view in enumerate(read):
            if n and view.note == "joined quoted parts":
                # Payload splitting: the joined fragments matter when they spell a strong
                # pattern; patterns only, on a short head, to bound the work.
                hits = matches(view.text[:QUOTED_CHARS])
                prob, idx, contrib = 0.0, _NONE, _NONE
            else:
                hits = matches(view.text[:self.span_chars])
                # Every view is normalised text: the first is the text or its normalised
                # copy, decoded payloads are normalised when decoded.
                prob, idx, contrib = self.model.assess(view.text, self._names(hits), True)
            strong = sum(p.name in STRONG for p, _ in hits)
            if strong:
                prob = max(prob, 1.0 - (1.0 - STRONG_SCORE) ** strong)
            if best is None or prob > best[0]:
                best = (prob, view, hits, idx, contrib)
        prob, view, hits, idx, contrib = best  # type: ignore[misc]
        if prob < context.threshold(self.name, self.threshold):
            return clean(self.name, context, prob)
        return self._flag(prob, view, hits, idx, contrib, context)

    @property
    def span_chars(self) -> int:
        """How many leading chars the patterns read (the classifier's pattern head)."""
        return self.model.params.pattern_chars or SPAN_CHARS

    def _names(self, hits: list[tuple[Pattern, Span]]) -> list[str] | None:
        # Older artifacts computed pattern features on their own cut text: let them.
        return [p.name for p, _ in hits] if self.model.params.pattern_chars else None

    def _flag(self, prob: float, view: View, hits: list[tuple[Pattern, Span]],
              idx: np.ndarray, contrib: np.ndarray, context: ScanContext) -> Verdict:
        """A flagged verdict explained by the matched spans, else the strongest words."""
        hits = [(p, s) for p, s in hits if p.kind != "leak" or prob > 0.9]
        jail = sum(p.kind == "jailbreak" for p, _ in hits)
        label = "jailbreak" if jail > len(hits) - jail else "injection"
        if hits:
            spans = list({(s.start, s.end): s for _, s in hits}.values())[:5]
            reason = "matched " + ", ".join(p.name for p, _ in hits[:5])
        else:
            top = top_buckets(idx, contrib)
            spans = [Span(start=a, end=b, text=view.text[a:b])
                     for a, b in word_spans(view.text, top, self.model.params)[:5]]
            reason = "classifier, strongest words: " + ", ".join(s.text or "" for s in spans)
        if view.note:
            reason += f" in the {view.note} text"
        return verdict(self.name, context, score=prob, label=label, spans=spans,
                       reason=f"{reason} (p={prob:.2f})", threshold=self.threshold)
