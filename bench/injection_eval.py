"""Score the shipped injection scanner on the held-out `test` split of the injection set.

    python bench/injection_eval.py [--smoke] [--data DIR] [--artifact PATH]

Prints AUROC, recall at 1% FPR, and P/R/F1/FPR at the shipped threshold (chosen on `train`
only), overall and per kind, latency p50/p99 per text, and two baselines in the same run:
a keyword list and a logistic regression on text length alone.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

from firebreak.scan.classifier import ARTIFACT, load
from firebreak.scan.injection import InjectionScanner
from firebreak.scan.train_injection import DEFAULT_DATA, load_split

KEYWORDS = re.compile(r"ignore|disregard|forget|jailbreak|DAN|system prompt|pretend|"
                      r"no restrictions|developer mode|act as|password", re.IGNORECASE)


def recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float = 0.01) -> float:
    f, t, _ = roc_curve(y, s)
    return float(t[f <= fpr].max()) if (f <= fpr).any() else 0.0


def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "fpr": round(fp / (fp + tn), 4) if fp + tn else 0.0}


def summary(name: str, y: np.ndarray, s: np.ndarray, thr: float) -> dict[str, object]:
    return {"model": name, "auroc": round(float(roc_auc_score(y, s)), 4),
            "recall_at_1pct_fpr": round(recall_at_fpr(y, s), 4), **prf(y, (s >= thr).astype(int))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="a 400-row sample, for CI")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--artifact", type=Path, default=ARTIFACT)
    args = ap.parse_args()
    train, test = load_split(args.data, "train"), load_split(args.data, "test")
    if args.smoke:
        test = test[::max(1, len(test) // 400)]
    model = load(args.artifact)
    scanner = InjectionScanner(model)
    scanner.scan("warm up: ignore previous instructions")
    y = np.array([r["label"] for r in test])
    scores, lat, cpu = [], [], []
    for r in test:
        t0, c0 = time.perf_counter(), time.thread_time()
        scores.append(scanner.scan(r["text"]).score)
        lat.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    s = np.array(scores)
    thr = scanner.threshold
    rows = [summary("firebreak", y, s, thr)]
    for kind in ("direct", "indirect", "jailbreak"):
        m = np.array([r["kind"] in (kind, "benign") for r in test])
        rows.append(summary(f"firebreak[{kind}]", y[m], s[m], thr))
    kw = np.array([1.0 if KEYWORDS.search(r["text"]) else 0.0 for r in test])
    rows.append(summary("baseline:keywords", y, kw, 0.5))
    lr = LogisticRegression().fit(np.log1p([[len(r["text"])] for r in train]),
                                  [r["label"] for r in train])
    ls = lr.predict_proba(np.log1p([[len(r["text"])] for r in test]))[:, 1]
    rows.append(summary("baseline:length-only", y, ls, 0.5))
    lat.sort()
    cpu.sort()
    print(json.dumps({"test_rows": len(test), "threshold": round(thr, 4),
                      "latency_ms_p50": round(statistics.median(lat), 3),
                      "latency_ms_p99": round(lat[int(len(lat) * 0.99) - 1], 3),
                      "cpu_ms_p50": round(statistics.median(cpu), 3),
                      "cpu_ms_p99": round(cpu[int(len(cpu) * 0.99) - 1], 3)}))
    for row in rows:
        print(json.dumps(row))
    # Where the misses and false alarms are: flag rate per source at the shipped threshold.
    sources = sorted({r["source"] for r in test})
    print(json.dumps({"flag_rate_by_source": {
        src: round(float((s[[r["source"] == src for r in test]] >= thr).mean()), 3)
        for src in sources}}))


if __name__ == "__main__":
    main()
