"""The lexical groundedness measure on real HaluEval rows (text.groundedness)."""

from __future__ import annotations

from firebreak.detect.llm.text import groundedness, grounding_parts

from .helpers import halueval_rows


def _pair(fragment: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    rows = [r for r in halueval_rows() if fragment in r["question"]]
    right = next(r for r in rows if r["label"] == 0)
    wrong = next(r for r in rows if r["label"] == 1)
    return right, wrong


def test_question_anchors_choose_between_two_entities_of_the_context() -> None:
    right, wrong = _pair("he wrote the screenplay for Beowulf")
    assert (right["answer"], wrong["answer"]) == ("Robert Zemeckis", "Neil Gaiman")
    r = grounding_parts(right["answer"], right["context"], right["question"])
    w = grounding_parts(wrong["answer"], wrong["context"], wrong["question"])
    assert r.present == w.present == 1.0 and r.cover == w.cover == 1.0  # both are in the context
    assert r.near > w.near  # "directed" (asked) sits next to Zemeckis, not Gaiman
    assert groundedness(right["answer"], right["context"], right["question"]) > \
        groundedness(wrong["answer"], wrong["context"], wrong["question"])


def test_fabricated_answer_scores_low_and_span_answer_high() -> None:
    right, wrong = _pair("Kimberly Ann Hart")
    ctx = [right["context"][:400], right["context"][400:]]  # chunks are joined
    assert groundedness(right["answer"], ctx, right["question"]) > 0.9
    assert groundedness(wrong["answer"], ctx, wrong["question"]) < 0.5


def test_without_a_question_the_anchor_view_is_neutral() -> None:
    right, _ = _pair("he wrote the screenplay for Beowulf")
    parts = grounding_parts(right["answer"], right["context"])
    assert parts.near == 1.0
    assert groundedness(right["answer"], right["context"]) == 1.0
    assert groundedness("", right["context"]) == 1.0
    assert groundedness("Robert Zemeckis", "") < 0.1
