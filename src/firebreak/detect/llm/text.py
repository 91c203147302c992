"""Text measures the LLM detectors share: groundedness, refusals, toxicity, truncation.

All lexical and fast (well under a millisecond per answer): no neural model is needed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

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


class GroundingParts(NamedTuple):
    """The lexical views `groundedness` combines, each from 0 (bad) to 1 (good)."""

    present: float  # share of the answer's content words found in the context
    cover: float  # share of the answer covered by its longest verbatim run in the context
    near: float  # how close the answer sits to the question's anchor words in the context


# Weights of the three views; `near` only breaks near-ties between answers the context
# mentions, so it weighs little. Chosen on one half of the HaluEval questions
# (bench/groundedness.py reports the other half separately).
_W_COVER, _W_NEAR = 0.5, 0.1
_STEM = 5  # letters two words must share to count as the same anchor
_NEAR_DECAY = 2.0  # an anchor d words away counts exp(-(d - 1) / _NEAR_DECAY)
_DECAY = [1.0] + [math.exp(-(d - 1) / _NEAR_DECAY) for d in range(1, int(4 * _NEAR_DECAY) + 1)]


def grounding_parts(answer: str, context: str | Sequence[str],
                    question: str = "") -> GroundingParts:
    """The three lexical views of how well `context` supports `answer` (see groundedness)."""
    if not isinstance(context, str):
        context = "\n".join(context)
    ans = words(answer)
    if not ans:
        return GroundingParts(1.0, 1.0, 1.0)
    ctx = words(context)
    at: dict[str, list[int]] = {}
    for i, w in enumerate(ctx):
        at.setdefault(w, []).append(i)
    q = words(question)
    asked = set(q)
    content = [w for w in ans if w not in ENGLISH_STOP_WORDS and w not in asked]
    present = sum(w in at for w in content) / len(content) if content else 1.0
    cover = _longest_run(ans, " " + " ".join(ctx) + " ") / len(ans)
    # Anchors: context words that share their first letters with a question content word
    # (a crude stem: "director" finds "directed"), rarer ones in the context weighing more.
    stems = {w[:_STEM] for w in q if w not in ENGLISH_STOP_WORDS}
    anchors = {w: 1.0 / len(ps) for w, ps in at.items()
               if w[:_STEM] in stems and w not in ENGLISH_STOP_WORDS}
    near = _near_anchors([w for w in content if w in at], ctx, at, anchors)
    return GroundingParts(present, cover, near)


def groundedness(answer: str, context: str | Sequence[str], question: str = "") -> float:
    """How well `context` supports `answer`, from 0 (unsupported) to 1 (fully supported).

    Three lexical views, combined: the share of the answer's content words (question words
    and stop words left out) that occur in the context; the share of the answer covered by
    its longest run of words that occurs verbatim in the context; and, when a question is
    given, whether the answer's words sit next to the question's anchor words in the
    context (the question's content words, rarer ones weighing more). Extractive, supported
    answers are mostly spans of the context next to what was asked; hallucinated ones bring
    words and phrasings the context does not have, or name another entity of the context,
    one that sits elsewhere ("directed by Robert Zemeckis and written by Neil Gaiman": asked
    who directed, the anchor "directed" is next to Zemeckis, not to Gaiman).
    """
    return combine(grounding_parts(answer, context, question))


def combine(p: GroundingParts) -> float:
    """The groundedness score of its three views (a weighted mean)."""
    unsupported = ((1.0 - p.present) + _W_COVER * (1.0 - p.cover) + _W_NEAR * (1.0 - p.near)) \
        / (1.0 + _W_COVER + _W_NEAR)
    return 1.0 - unsupported


def _near_anchors(targets: list[str], ctx: list[str], at: dict[str, list[int]],
                  anchors: dict[str, float]) -> float:
    """Mean over `targets` (answer words found in the context) of the weighted share of
    `anchors` near the target's best occurrence, each anchor counting less the farther it
    is (halving about every _NEAR_DECAY words); 1.0 when either is empty (nothing to judge
    by)."""
    if not targets or not anchors:
        return 1.0
    total = sum(anchors.values())
    reach = int(4 * _NEAR_DECAY)
    shares = []
    for w in targets:
        best = 0.0
        for i in at[w]:
            found: dict[str, float] = {}
            for j in range(max(0, i - reach), min(len(ctx), i + reach + 1)):
                a = ctx[j]
                if a in anchors and j != i:
                    found[a] = max(found.get(a, 0.0), _DECAY[abs(j - i)])
            best = max(best, sum(anchors[a] * v for a, v in found.items()))
        shares.append(best / total)
    return sum(shares) / len(shares)


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
