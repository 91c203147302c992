"""Text measures the LLM detectors share: groundedness, refusals, toxicity, truncation.

All lexical and fast (tens of microseconds per answer): no neural model is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[a-z0-9]+")
_REFUSAL = re.compile(
    r"\b(i(?:'m| am) (?:sorry|afraid|unable|not able)|i can(?:no|')t (?:help|assist|answer|"
    r"provide|do that|comply)|i (?:won't|will not|must decline|cannot)|as an ai\b|"
    r"(?:not|isn't) (?:something|anything) i can|against (?:my|the) (?:policy|guidelines))",
    re.I)


def words(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _WORD.findall(text.lower())


def groundedness(answer: str, context: str | Sequence[str], question: str = "") -> float:
    """How well `context` supports `answer`, from 0 (unsupported) to 1 (fully supported).

    Two lexical views, combined: the share of the answer's content words (question words and
    stop words left out) that occur in the context, and the share of the answer covered by
    its longest run of words that occurs verbatim in the context. Extractive, supported
    answers are mostly spans of the context; hallucinated ones bring words and phrasings
    the context does not have.
    """
    if not isinstance(context, str):
        context = "\n".join(context)
    ans = words(answer)
    if not ans:
        return 1.0
    ctx = words(context)
    ctx_set = set(ctx)
    asked = set(words(question))
    content = [w for w in ans if w not in ENGLISH_STOP_WORDS and w not in asked]
    missing = sum(w not in ctx_set for w in content) / len(content) if content else 0.0
    cover = _longest_run(ans, " " + " ".join(ctx) + " ") / len(ans)
    unsupported = (missing + 0.5 * (1.0 - cover)) / 1.5
    return 1.0 - unsupported


def _longest_run(tokens: list[str], haystack: str) -> int:
    """Length of the longest run of `tokens` found verbatim (word-aligned) in `haystack`."""
    best = 0
    n = len(tokens)
    for i in range(n):
        if n - i <= best:
            break
        lo, hi = best + 1, n - i  # binary search the longest run starting at i
        while lo <= hi:
            mid = (lo + hi) // 2
            if " " + " ".join(tokens[i:i + mid]) + " " in haystack:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
    return best


def is_refusal(answer: str) -> bool:
    return bool(_REFUSAL.search(answer[:400]))


@lru_cache(maxsize=1)
def _toxic_terms() -> frozenset[str]:
    raw = resources.files("firebreak.detect.llm").joinpath("toxic_terms.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in raw.splitlines()
                     if w.strip() and not w.startswith("#"))


def toxic_terms(answer: str) -> list[str]:
    """Terms of the shipped toxicity lexicon that occur in `answer`."""
    lexicon = _toxic_terms()
    return [w for w in words(answer) if w in lexicon]
