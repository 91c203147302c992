"""Leave-one-source-family-out cross-validation of the injection classifier on `train`.

    python bench/injection_cv.py [--model linear|mlp] [--extra-benign] [--test] [--smoke]

Each of the 8 source families of `train` (plus the synthetic benign rows, one family) is
scored by a model trained on the other families; the out-of-fold scores are pooled. Two
evaluation sets: `real` (the train split's own rows) and `all` (also the synthetic benign
rows of scan/train_injection.py and scan/benign_corpus.py, scored by a model that saw no
synthetic row, a proxy for benign role-play and instructions). The evaluation set is the
same whatever the variant trains on. Scores are given for the classifier alone and combined
with the scanner's strong patterns (`max`: the scanner's rule, a strong hit lifts the score
to at least 0.97, two to 0.9991; `logit+k`: k added to the logit per strong hit). `--test`
then trains on all of `train` and scores the `test` split the same way (classifier and
pattern combination; the scanner's other views are left out, so bench/injection_eval.py
remains the reference for the shipped scanner).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from firebreak.scan import train_injection as T
from firebreak.scan.benign_corpus import benign_rows
from firebreak.scan.classifier import FeatureParams, cut, pattern_names
from firebreak.scan.injection import STRONG
from firebreak.scan.normalise import normalise as unmask


def recall_at(y: np.ndarray, s: np.ndarray, fpr: float = 0.01) -> float:
    f, t, _ = roc_curve(y, s)
    return float(t[f <= fpr].max())


def metrics(rows: list[dict], z: np.ndarray) -> dict[str, object]:
    """AUROC and recall at 1 % FPR of logits `z`, overall and per kind against benign."""
    y = np.array([r["label"] for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    out: dict[str, object] = {"auroc": round(float(roc_auc_score(y, z)), 3),
                              "recall_at_1pct_fpr": round(recall_at(y, z), 3)}
    for k in ("direct", "indirect", "jailbreak"):
        m = (kinds == k) | (kinds == "benign")
        if (y[m] == 1).any():
            out[k] = [round(float(roc_auc_score(y[m], z[m])), 3), round(recall_at(y[m], z[m]), 3)]
    return out


def fitted(X, y, model: str, bits: int, C: float, seed: int = 0):  # noqa: ANN001, ANN201
    """A function from a feature matrix to logits, trained on (X, y)."""
    if model == "mlp":
        parts = T.fit_mlp(X, y, bits, {"seed": seed})
        return lambda Xs: _logit(T.predict_mlp(Xs, *parts, bits))
    idf, coef, b = T.fit(X, y, C)
    return lambda Xs: _logit(T.predict(Xs, idf, coef, b))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return np.log(p / (1 - p))


def combos(z: np.ndarray, strong: np.ndarray) -> dict[str, np.ndarray]:
    """The classifier's logit alone and combined with the strong-pattern hit counts."""
    floor = np.where(strong > 0, _logit(1 - 0.03 ** np.maximum(strong, 1)), -np.inf)
    return {"classifier": z, "max": np.maximum(z, floor), "logit+2": z + 2 * strong,
            "logit+4": z + 4 * strong}


def strong_hits(rows: list[dict], p: FeatureParams) -> np.ndarray:
    return np.array([sum(h in STRONG for h in pattern_names(unmask(cut(r["text"], p)), p))
                     for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["linear", "mlp"], default="linear")
    ap.add_argument("--extra-benign", action="store_true",
                    help="train (not only evaluate) on scan/benign_corpus.py's rows")
    ap.add_argument("--test", action="store_true", help="also score the test split")
    ap.add_argument("--smoke", action="store_true", help="every 8th row, for CI")
    ap.add_argument("--C", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=0, help="the mlp's seed")
    args = ap.parse_args()
    p = FeatureParams(**T.PARAMS)
    base = T.load_split(T.DEFAULT_DATA, "train") + T.synthetic_benign()
    extra = benign_rows()
    rows = base + extra
    trainable = np.array([True] * len(base) + [args.extra_benign] * len(extra))
    if args.smoke:
        rows, trainable = rows[::8], trainable[::8]
    y = np.array([r["label"] for r in rows])
    groups = np.array([r["source"].split("/")[0] for r in rows])
    X = T.matrix([r["text"] for r in rows], p).tocsr()
    c0 = time.process_time()
    z = np.zeros(len(rows))
    for g in sorted(set(groups)):
        te, tr = groups == g, (groups != g) & trainable
        z[te] = fitted(X[tr], y[tr], args.model, p.bits, args.C, args.seed)(X[te])
    strong = strong_hits(rows, p)
    real = np.array([not r["source"].startswith("synthetic") for r in rows])
    head = {"model": args.model, "seed": args.seed, "extra_benign": args.extra_benign,
            "rows": len(rows),
            "cv_cpu_s": round(time.process_time() - c0, 1)}
    print(json.dumps(head))
    for name, s in combos(z, strong).items():
        print(json.dumps({"cv": "real", "score": name,
                          **metrics([r for r, k in zip(rows, real, strict=True) if k], s[real])}))
        print(json.dumps({"cv": "all", "score": name, **metrics(rows, s)}))
    if args.test:
        test = T.load_split(T.DEFAULT_DATA, "test")
        if args.smoke:
            test = test[::8]
        zt = fitted(X[trainable], y[trainable], args.model, p.bits, args.C, args.seed)(
            T.matrix([r["text"] for r in test], p))
        for name, s in combos(zt, strong_hits(test, p)).items():
            print(json.dumps({"split": "test", "score": name, **metrics(test, s)}))


if __name__ == "__main__":
    main()
