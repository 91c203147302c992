"""Train the injection classifier on the `train` split and write the shipped artifact.

    python -m firebreak.scan.train_injection [--data DIR] [--out PATH]

Whole sources are held out (splits.json); inside `train`, out-of-fold scores from
leave-source-out cross-validation choose the shipped threshold, so `test` is never seen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path("/work/shared/data/injection")
TARGET_FPR = 0.01


def load_split(data: Path, split: str) -> list[dict[str, Any]]:
    """Rows of `split` ('train' or 'test'), split by source as the data's README says."""
    test_sources = set(json.loads((data / "splits.json").read_text())["test"])
    rows = [json.loads(line) for line in (data / "dev.jsonl").open(encoding="utf-8")]
    return [r for r in rows if (r["source"] in test_sources) == (split == "test")]


# Synthetic hard negatives (training only): benign instructions and benign talk about
# prompts and security. The train split's benign rows are mostly short questions, so without
# these the model learns "imperative = attack" (see the data README's caveats).
_VERBS = ["Write", "Draft", "Compose", "Create", "Give me", "Explain", "Describe", "Summarize",
          "List", "Translate", "Suggest", "Plan", "Outline", "Rewrite", "Compare", "Design",
          "Help me write", "Can you write", "Please explain", "Tell me about", "Generate"]
_THINGS = ["a short poem about", "a story about", "an email to my manager about",
           "a blog post on", "three tips for", "a haiku about", "the history of",
           "a lesson plan on", "a product description for", "the pros and cons of",
           "a cover letter mentioning", "a recipe using", "a travel itinerary for",
           "a tweet announcing", "a limerick about", "an outline for an essay on",
           "a summary of", "a job posting for", "interview questions about",
           "a persuasive paragraph about", "a SQL query that counts", "a Python function for"]
_TOPICS = ["autumn leaves", "remote work", "climate change", "the French revolution",
           "machine learning", "our new coffee shop", "a trip to Japan", "healthy breakfasts",
           "quantum computing", "time management", "the moon landing", "electric cars",
           "password managers", "prompt engineering best practices", "system design interviews",
           "a birthday party", "customer orders per day", "sorting a list", "renewable energy",
           "how language models are trained", "role-playing games", "ethical AI guidelines"]
_TALK = ["How do I write a good system prompt for a customer-support bot?",
         "What is prompt injection and how can developers defend against it?",
         "Our security policy says to rotate passwords every 90 days. Is that still advised?",
         "Can you ignore the typos in my previous message? I meant 'their', not 'there'.",
         "Please disregard my last question, I found the answer.",
         "Forget the previous draft; let's start the introduction from scratch.",
         "Act as a friendly tour guide and describe Rome in three sentences.",
         "Pretend you are a pirate and say good morning.",
         "You are now my Spanish tutor: correct this sentence: yo es estudiante.",
         "Imagine a world without electricity. What would change first?",
         "Respond only with yes or no: is 17 a prime number?",
         "Reply with just the number: what is 12 times 12?",
         "What are the rules of chess for castling?",
         "Explain what a jailbreak is on an iPhone.",
         "Write instructions for assembling a bookshelf.",
         "What does 'developer mode' do on an Android phone?",
         "Summarize the new content policy for our forum moderators.",
         "Show me the instructions for resetting my router password.",
         "As an AI language model expert, what should I read first?",
         "Begin your answer with a one-line summary, then give details."]


def synthetic_benign(limit: int = 900, seed: int = 20261125) -> list[dict[str, Any]]:
    """Benign instruction-style rows made from templates (never from the test split)."""
    import random

    rng = random.Random(seed)
    rows = {f"{v} {t} {topic}." for v in _VERBS for t in _THINGS for topic in _TOPICS}
    texts = rng.sample(sorted(rows), min(limit, len(rows))) + _TALK
    return [{"text": t, "label": 0, "source": "synthetic/benign", "kind": "benign"} for t in texts]


def matrix(texts: list[str], params: Any) -> Any:
    """Hashed feature counts of `texts` as a sparse matrix."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from firebreak.scan.classifier import features

    indptr, indices, data = [0], [], []
    for text in texts:
        idx, counts = features(text, params)
        indices.append(idx)
        data.append(counts)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                      shape=(len(texts), 1 << params.bits))


def fit(X: Any, y: Any, C: float, min_df: int = 2) -> tuple[Any, Any, float]:
    """(idf with rare buckets zeroed, coef, intercept) of TF-IDF + logistic regression."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    df = np.asarray((X > 0).sum(axis=0)).ravel()
    keep = (df >= min_df).astype(np.float64)
    tfidf = TfidfTransformer(sublinear_tf=True).fit(X)
    idf = tfidf.idf_ * keep
    Xt = X.copy().astype(np.float64)
    Xt.data = 1.0 + np.log(Xt.data)
    Xt = Xt.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(Xt.multiply(Xt).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    Xt = Xt.multiply(1.0 / norms[:, None]).tocsr()
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(Xt, y)
    return idf, clf.coef_[0], float(clf.intercept_[0])


def predict(X: Any, idf: Any, coef: Any, intercept: float) -> Any:
    """Probabilities for the rows of X under one fitted model (same math as scoring)."""
    import numpy as np

    Xt = X.copy().astype(np.float64)
    Xt.data = 1.0 + np.log(Xt.data)
    Xt = Xt.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(Xt.multiply(Xt).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    z = np.asarray(Xt @ coef).ravel() / norms + intercept
    return 1.0 / (1.0 + np.exp(-z))


def out_of_fold(X: Any, y: Any, groups: list[str], C: float, folds: int = 5) -> Any:
    """Scores for every train row from models that never saw its source family."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    oof = np.zeros(X.shape[0])
    for tr, te in GroupKFold(n_splits=folds).split(X, y, groups):
        idf, coef, b = fit(X[tr], y[tr], C)
        oof[te] = predict(X[te], idf, coef, b)
    return oof


def pick_threshold(scores: list[float], labels: list[int], fpr: float = TARGET_FPR) -> float:
    """The lowest threshold whose false-positive rate on benign rows is at most `fpr`."""
    neg = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
    k = int(len(neg) * fpr)
    return float(min(0.99, max(0.05, neg[k] + 1e-6 if k < len(neg) else 0.5)))


# What the shipped artifact uses; every choice measured by leave-source-family-out CV on
# `train` (see docs/scanners.md).
PARAMS = {"pattern_chars": 1000, "style": True}


def training_rows(data: Path, extra: bool = False) -> list[dict[str, Any]]:
    """The `train` split plus synthetic benign rows, and with `extra` the larger benign
    corpus of scan/benign_corpus.py (measured: it lowers recall at 1 % FPR, so off)."""
    from firebreak.scan.benign_corpus import benign_rows

    return load_split(data, "train") + synthetic_benign() + (benign_rows() if extra else [])


def train(data: Path, out: Path, C: float = 8.0, params: Any = None,
          extra: bool = False) -> dict[str, Any]:
    """Fit, pick the threshold from out-of-fold scores, save; return a summary."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from firebreak.scan.classifier import FeatureParams, save

    params = params or FeatureParams(**PARAMS)
    rows = training_rows(data, extra)
    y = np.array([r["label"] for r in rows])
    X = matrix([r["text"] for r in rows], params)
    groups = [r["source"].split("/")[0] for r in rows]  # families, not subsets
    oof = out_of_fold(X, y, groups, C)
    threshold = pick_threshold(oof.tolist(), y.tolist())
    idf, coef, intercept = fit(X, y, C)
    meta = {"rows": len(rows), "oof_auroc": round(float(roc_auc_score(y, oof)), 4), "C": C,
            "extra_benign": extra,
            "target_fpr": TARGET_FPR, "split": "train"}
    save(out, idf, coef, intercept, params, threshold, meta)
    return {**meta, "threshold": threshold, "features": int((idf > 0).sum()), "out": str(out)}


def main() -> None:
    from firebreak.scan.classifier import ARTIFACT

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=ARTIFACT)
    ap.add_argument("--C", type=float, default=8.0)
    ap.add_argument("--extra-benign", action="store_true",
                    help="add scan/benign_corpus.py's templates and stdlib prose")
    args = ap.parse_args()
    print(json.dumps(train(args.data, args.out, args.C, extra=args.extra_benign)))


if __name__ == "__main__":
    main()
