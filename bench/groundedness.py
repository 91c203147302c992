"""Groundedness measure on HaluEval QA (../shared/data/hallucination).

Prints AUROC of Firebreak's lexical groundedness score (1 - score ranks hallucinations)
overall and on pairs whose two answers have similar length, the CPU time per answer, the
plain baseline of the issue (the share of the answer's content words, question words and
stop words left out, missing from the context), and an ablation without the question-aware
view. The weights were chosen on the "tune" half of the questions (split by a hash of the
question text); the "held-out" half is reported apart, and "all" is both halves.

With --embed it also scores the optional LSA embedding view (firebreak.detect.llm.embed).

    .venv/bin/python bench/groundedness.py [--smoke] [--embed]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import roc_auc_score

from firebreak.detect.llm.text import groundedness, grounding_parts

DATA = Path(__file__).resolve().parents[2] / "shared/data/hallucination/halueval_qa.jsonl"
if not DATA.exists():
    DATA = Path("/work/shared/data/hallucination/halueval_qa.jsonl")


def baseline(row: dict) -> float:  # type: ignore[type-arg]
    words = lambda s: re.findall(r"[a-z0-9]+", s.lower())  # noqa: E731
    ctx, asked = set(words(row["context"])), set(words(row["question"]))
    content = [w for w in words(row["answer"]) if w not in ENGLISH_STOP_WORDS and w not in asked]
    return sum(w not in ctx for w in content) / len(content) if content else 0.0


def without_near(row: dict) -> float:  # type: ignore[type-arg]
    """The measure before the question-aware view (present and cover only)."""
    p = grounding_parts(row["answer"], row["context"], row["question"])
    return ((1 - p.present) + 0.5 * (1 - p.cover)) / 1.5


def matched_rows(rows: list[dict], rule) -> list[int]:  # type: ignore[type-arg,no-untyped-def]
    by: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by.setdefault(r["question"], []).append(i)
    out = []
    for pair in by.values():
        if len(pair) == 2:
            a, b = (len(rows[i]["answer"].split()) for i in pair)
            if rule(a, b):
                out += pair
    return out


RULES = {
    "word counts within 25% (>=1 word)": lambda a, b: abs(a - b) <= max(1, 0.25 * max(a, b)),
    "word counts differ by <=2": lambda a, b: abs(a - b) <= 2,
    "same word count": lambda a, b: a == b,
}


def tune_half(question: str) -> bool:
    """The half of the questions the weights were chosen on."""
    return int(hashlib.sha1(question.encode()).hexdigest(), 16) % 2 == 0


def timed(rows: list[dict], fn: Callable[[dict], float]) -> tuple[np.ndarray, float]:  # type: ignore[type-arg]
    t0 = time.process_time()
    out = np.array([fn(r) for r in rows])
    return out, (time.process_time() - t0) / len(rows) * 1e3


def table(rows: list[dict], y: np.ndarray, scores: dict[str, np.ndarray]) -> None:  # type: ignore[type-arg]
    tune = np.array([tune_half(r["question"]) for r in rows])
    subsets = [("all", list(range(len(rows))))]
    subsets += [(n, matched_rows(rows, rule)) for n, rule in RULES.items()]
    print(f"{'subset':36s} {'half':9s} {'pairs':>5s} " + " ".join(f"{k:>12s}" for k in scores))
    for name, idx in subsets:
        for half, keep in (("all", None), ("tune", True), ("held-out", False)):
            sel = [i for i in idx if keep is None or tune[i] == keep]
            if len(set(y[sel])) < 2:
                continue
            aucs = " ".join(f"{roc_auc_score(y[sel], s[sel]):12.3f}" for s in scores.values())
            print(f"{name:36s} {half:9s} {len(sel) // 2:5d} {aucs}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="first 200 rows only (with --embed)")
    ap.add_argument("--embed", action="store_true", help="also score the optional LSA view")
    args = ap.parse_args()
    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    if args.smoke:
        rows = rows[:200]
    y = np.array([r["label"] for r in rows])
    ours, ms = timed(rows, lambda r: 1 - groundedness(r["answer"], r["context"], r["question"]))
    scores = {"firebreak": ours, "no-near": timed(rows, without_near)[0],
              "baseline": timed(rows, baseline)[0]}
    times = {"firebreak": ms}
    if args.embed or args.smoke:  # the smoke run exercises the embedding view too
        from firebreak.detect.llm.embed import load_lsa

        lsa = load_lsa()
        sim, times["lsa"] = timed(rows, lambda r: 1 - lsa.support(r["answer"], r["context"]))
        scores["lsa-only"] = sim
        both, times["firebreak+lsa"] = timed(rows, lambda r: 1 - lsa.groundedness(
            r["answer"], r["context"], r["question"]))
        scores["firebreak+lsa"] = both
        # the same, but answers the model knows no word of keep their lexical score: what
        # the LSA view adds by meaning, without its out-of-vocabulary effect
        known = np.array([bool(lsa.embed(r["answer"]).any()) for r in rows])
        scores["+lsa known"] = np.where(known, both, ours)
    print(f"rows: {len(rows)}  CPU time per answer: "
          + ", ".join(f"{k} {v:.3f} ms" for k, v in times.items()) + " (one core)")
    table(rows, y, scores)


if __name__ == "__main__":
    main()
