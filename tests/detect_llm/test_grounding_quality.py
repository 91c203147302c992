"""Groundedness and output-quality detectors on real HaluEval answers and contexts."""

from __future__ import annotations

import random

from firebreak.detect.llm.aggregates import GroundingAggregate, QualityAggregate
from firebreak.detect.llm.grounding import UngroundedAnswers
from firebreak.detect.llm.quality import AnswerLength, PIIInAnswers, RefusalRate, Toxicity
from firebreak.events import LLMCall, Message, RetrievedChunk

from .helpers import context, halueval_rows, merge, verdicts_for, window

AGGS = [GroundingAggregate, QualityAggregate]


def _calls(prefix: str, n: int, rng: random.Random, *, hallucinated: float = 0.0,
           answer_fn=None) -> list[LLMCall]:  # type: ignore[no-untyped-def]
    rows = halueval_rows()
    right = [r for r in rows if r["label"] == 0]
    wrong = {r["question"]: r for r in rows if r["label"] == 1}
    out = []
    for i in range(n):
        row = rng.choice(right)
        if rng.random() < hallucinated:
            row = wrong[row["question"]]
        answer = answer_fn(row["answer"], i) if answer_fn else row["answer"]
        out.append(LLMCall(
            event_id=f"{prefix}-{i}", deployment="support-bot",
            messages=[Message(role="user", content=row["question"])], response=answer,
            retrieved=[RetrievedChunk(doc_id=f"d{hash(row['context']) % 997}", source="wiki",
                                      text=row["context"])],
            verdicts=list(verdicts_for(answer, "output"))))
    return out


def _reference(rng: random.Random) -> object:
    return merge([window("support-bot", _calls(f"r{i}", 300, rng), AGGS, i) for i in range(5)])


def test_ungrounded_rate_fires_on_a_hallucination_spike_only() -> None:
    rng = random.Random(3)
    ref = _reference(rng)
    det = UngroundedAnswers()
    for i in range(10):
        clean = window("support-bot", _calls(f"c{i}", 300, rng), AGGS, 10 + i)
        assert det.detect(context(clean, ref)) == []
    spike = window("support-bot", _calls("s", 300, rng, hallucinated=0.3), AGGS, 50)
    (sig,) = det.detect(context(spike, ref)) or []
    assert sig.category == "hallucination" and sig.value > sig.facts["baseline"] + 0.1
    assert all(e.startswith("s-") for e in sig.evidence_event_ids)


def test_refusals_toxicity_pii_and_length_shift() -> None:
    rng = random.Random(4)
    ref = _reference(rng)
    clean = window("support-bot", _calls("c", 300, rng), AGGS, 20)
    detectors = [RefusalRate(), Toxicity(), PIIInAnswers(), AnswerLength()]
    for d in detectors:
        assert d.detect(context(clean, ref)) in ([], None), d.name

    refuse = lambda a, i: "I'm sorry, I can't help with that." if i % 4 == 0 else a  # noqa: E731
    refused = window("support-bot", _calls("f", 300, rng, answer_fn=refuse), AGGS, 21)
    (sig,) = RefusalRate().detect(context(refused, ref)) or []
    assert sig.metric == "refusal_rate" and 0.2 < sig.value < 0.3

    rude = lambda a, i: f"{a}, you idiot." if i % 10 == 0 else a  # noqa: E731
    rude_window = window("support-bot", _calls("t", 300, rng, answer_fn=rude), AGGS, 22)
    (sig,) = Toxicity().detect(context(rude_window, ref)) or []
    assert sig.category == "unsafe_output"

    pii = "Contact jane.doe{}@example.com or 4111 1111 1111 1111."
    leak = lambda a, i: f"{a}. {pii.format(i)}" if i % 10 == 0 else a  # noqa: E731
    leaked = window("support-bot", _calls("p", 300, rng, answer_fn=leak), AGGS, 23)
    (sig,) = PIIInAnswers().detect(context(leaked, ref)) or []
    assert sig.category == "sensitive_data_leak" and len(sig.evidence_event_ids) >= 25

    verbose = lambda a, i: " ".join([a] * 12)  # noqa: E731
    long_answers = window("support-bot", _calls("v", 300, rng, answer_fn=verbose), AGGS, 24)
    (sig,) = AnswerLength().detect(context(long_answers, ref)) or []
    assert sig.metric == "answer_length_ks"
