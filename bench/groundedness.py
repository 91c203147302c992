"""Groundedness measure on HaluEval QA (../shared/data/hallucination).

Prints AUROC of Firebreak's lexical groundedness score (1 - score ranks hallucinations)
overall and on pairs whose two answers have similar length, the time per answer, and the
plain baseline of the issue: the share of the answer's content words (question words and
stop words left out) missing from the context.

    .venv/bin/python bench/groundedness.py [--smoke]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import roc_auc_score

from firebreak.detect.llm.text import groundedness

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hallucination" / "halueval_qa.jsonl"
if not DATA.exists():
    DATA = Path("/work/shared/data/hallucination/halueval_qa.jsonl")


def baseline(row: dict) -> float:  # type: ignore[type-arg]
    words = lambda s: re.findall(r"[a-z0-9]+", s.lower())  # noqa: E731
    ctx, asked = set(words(row["context"])), set(words(row["question"]))
    content = [w for w in words(row["answer"]) if w not in ENGLISH_STOP_WORDS and w not in asked]
    return sum(w not in ctx for w in content) / len(content) if content else 0.0


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="first 200 rows only")
    args = ap.parse_args()
    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    if args.smoke:
        rows = rows[:200]
    y = np.array([r["label"] for r in rows])
    t0 = time.perf_counter()
    ours = np.array([1 - groundedness(r["answer"], r["context"], r["question"]) for r in rows])
    per_answer_ms = (time.perf_counter() - t0) / len(rows) * 1e3
    base = np.array([baseline(r) for r in rows])
    print(f"rows: {len(rows)}  time per answer: {per_answer_ms:.3f} ms (one core, no neural model)")
    print(f"{'subset':40s} {'pairs':>6s} {'firebreak':>10s} {'baseline':>10s}")
    print(f"{'all':40s} {len(rows) // 2:6d} {roc_auc_score(y, ours):10.3f} {roc_auc_score(y, base):10.3f}")
    for name, rule in RULES.items():
        idx = matched_rows(rows, rule)
        if len(set(y[idx])) == 2:
            print(f"{name:40s} {len(idx) // 2:6d} {roc_auc_score(y[idx], ours[idx]):10.3f} "
                  f"{roc_auc_score(y[idx], base[idx]):10.3f}")


if __name__ == "__main__":
    main()
