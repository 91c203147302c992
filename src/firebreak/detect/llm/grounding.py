"""Hallucination: the rate of answers their retrieved chunks do not support."""

from __future__ import annotations

from typing import Any, ClassVar

from firebreak.detect.llm.aggregates import GroundingAggregate
from firebreak.detect.llm.base import RateConfig, RateDetector
from firebreak.signals import Contributor


class UngroundedAnswers(RateDetector):
    """Ungrounded-answer rate rising over the baseline (see text.groundedness)."""

    name, counter, metric, what = ("ungrounded_answers", "ungrounded", "ungrounded_rate",
                                   "ungrounded answers")
    category: ClassVar[str] = "hallucination"
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})
    aggregates: ClassVar[tuple[type, ...]] = (GroundingAggregate,)
    source: ClassVar[str] = "grounding"

    class Config(RateConfig):
        min_lift: float = 0.05

    def contributors(self, agg: Any) -> list[Contributor]:
        return [Contributor(kind="source", key=k, value=float(v))
                for k, v in agg.by["source"].most_common(5)]
