"""LLM output quality: refusals, empty or truncated answers, answer-length shift, toxicity,
PII in answers."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.llm.aggregates import QualityAggregate
from firebreak.detect.llm.base import RateConfig, RateDetector
from firebreak.detect.stats import ks_numeric
from firebreak.signals import Signal


class _Quality(RateDetector):
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})
    aggregates: ClassVar[tuple[type, ...]] = (QualityAggregate,)
    source: ClassVar[str] = "llm_quality"
    category: ClassVar[str] = "performance_degradation"


class RefusalRate(_Quality):
    """More refusals than usual: the model (or a guard) stopped answering."""

    name, counter, metric, what = "refusal_rate", "refusal", "refusal_rate", "refusals"

    class Config(RateConfig):
        min_lift: float = 0.05


class EmptyAnswers(_Quality):
    """Empty answers rising."""

    name, counter, metric, what = "empty_answers", "empty", "empty_answer_rate", "empty answers"


class TruncatedAnswers(_Quality):
    """Answers cut off at the token limit rising."""

    name, counter, metric, what = ("truncated_answers", "truncated", "truncated_rate",
                                   "truncated answers")


class Toxicity(_Quality):
    """Answers with abusive terms from the shipped lexicon."""

    name, counter, metric, what = "toxicity", "toxic", "toxic_answer_rate", "toxic answers"
    category: ClassVar[str] = "unsafe_output"

    class Config(RateConfig):
        min_count: int = 3


class PIIInAnswers(_Quality):
    """Answers carrying personal data or secrets (the PII and secrets scanners' verdicts)."""

    name, counter, metric, what = "pii_in_answers", "pii", "pii_answer_rate", "answers with PII"
    category: ClassVar[str] = "sensitive_data_leak"

    class Config(RateConfig):
        min_count: int = 3


class AnswerLength(BaseDetector):
    """The distribution of answer lengths moved (KS distance on the sketches)."""

    name: ClassVar[str] = "answer_length"
    category: ClassVar[str] = "performance_degradation"
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})
    aggregates: ClassVar[tuple[type, ...]] = (QualityAggregate,)

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_answers: int = 100
        min_distance: float = 0.25
        alpha: float = 1e-6

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        agg, base = ctx.window.get("llm_quality"), ctx.baseline("llm_quality")
        if agg is None or base is None:
            return None
        n, m = agg.length.count, base.length.count
        if n < self.config.min_answers or m < self.config.min_answers:
            return None
        test = ks_numeric(base.length, agg.length)
        distance, p = test.distance, test.p_value
        if distance < self.config.min_distance or p >= self.config.alpha:
            return []
        return [self.signal(ctx, metric="answer_length_ks", value=distance,
                            threshold=self.config.min_distance,
                            message=f"answer lengths shifted (KS {distance:.2f}, p={p:.1e})",
                            facts={"ks": distance, "p_value": p})]
