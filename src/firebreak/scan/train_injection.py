"""Train the injection classifier on the `train` split and write the shipped artifact.

    python -m firebreak.scan.train_injection [--data DIR] [--out PATH] [--model linear|mlp]

Whole sources are held out (splits.json); inside `train`, out-of-fold scores from
leave-source-out cross-validation choose the shipped threshold, so `test` is never seen.
The shipped model is `linear` (scikit-learn only). `mlp`, the wide-and-deep variant, needs
torch (CPU build) to train and only numpy to score; it won the cross-validation on `train`
but lost on `test` (docs/benchmarks.md), so it is not shipped.
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


# The deep part of the "mlp" model (classifier.MLPModel), as measured by
# bench/injection_cv.py: 16-dim embeddings on 2**16 shared rows, 32 hidden units, 6 epochs,
# 20 % of each text's features dropped per step.
MLP = {"dim": 16, "hidden": 32, "emb_bits": 16, "epochs": 6, "drop": 0.2, "lr": 3e-3,
       "weight_decay": 1e-5, "batch": 64, "min_df": 2, "seed": 0}


def _tfidf_rows(X: Any, idf: Any) -> Any:
    """Sublinear TF-IDF, L2-normalised rows (what the scorer computes per text)."""
    import numpy as np

    Xt = X.copy().astype(np.float64)
    Xt.data = 1.0 + np.log(Xt.data)
    Xt = Xt.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(Xt.multiply(Xt).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return Xt.multiply(1.0 / norms[:, None]).tocsr()


def fit_mlp(X: Any, y: Any, bits: int, cfg: dict[str, Any] | None = None
            ) -> tuple[Any, Any, float, dict[str, Any]]:
    """(idf, coef, intercept, deep arrays) of the wide-and-deep model, trained with torch
    on one thread with fixed seeds (reproducible on one machine and torch version)."""
    import numpy as np

    try:
        import torch
    except ImportError as exc:  # torch is a training-time extra, never needed to score
        raise SystemExit("training the mlp model needs torch: pip install torch "
                         "(the CPU build is enough), or pass --model linear") from exc
    c = {**MLP, **(cfg or {})}
    torch.set_num_threads(1)
    torch.manual_seed(c["seed"])
    rng = np.random.default_rng(c["seed"])
    X = X.tocsr()
    n = X.shape[0]
    df = np.asarray((X > 0).sum(axis=0)).ravel()
    idf = (np.log((1 + n) / (1 + df)) + 1.0) * (df >= c["min_df"])
    kept = np.flatnonzero(idf)
    Xk = _tfidf_rows(X, idf)[:, kept].tocsr()
    rows = torch.from_numpy(kept >> (bits - c["emb_bits"]))  # embedding row of each column
    emb = torch.nn.EmbeddingBag(1 << c["emb_bits"], c["dim"], mode="sum", sparse=True)
    torch.nn.init.normal_(emb.weight, 0.0, 0.1)
    wide = torch.nn.EmbeddingBag(len(kept), 1, mode="sum", sparse=True)
    torch.nn.init.zeros_(wide.weight)
    mlp = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(c["dim"], c["hidden"]),
                              torch.nn.ReLU(), torch.nn.Linear(c["hidden"], 1))
    bias = torch.nn.Parameter(torch.zeros(1))
    sparse_opt = torch.optim.SparseAdam([emb.weight, wide.weight], lr=c["lr"])
    dense_opt = torch.optim.Adam([*mlp.parameters(), bias], lr=c["lr"],
                                 weight_decay=c["weight_decay"])
    yf = np.asarray(y, dtype=np.float32)
    pos_weight = (yf == 0).sum() / max((yf == 1).sum(), 1)  # balanced, as the linear model
    sw = np.where(yf == 1, pos_weight, 1.0).astype(np.float32)
    sw /= sw.mean()
    for _ in range(c["epochs"]):
        order = rng.permutation(n)
        for s in range(0, n, c["batch"]):
            ids = order[s:s + c["batch"]]
            sub = Xk[ids]
            keep = rng.random(len(sub.data)) >= c["drop"]
            w = torch.from_numpy((sub.data * keep / (1 - c["drop"])).astype(np.float32))
            ind = torch.from_numpy(sub.indices.astype(np.int64))
            off = torch.from_numpy(sub.indptr[:-1].astype(np.int64))
            z = (wide(ind, off, per_sample_weights=w).squeeze(1) + bias
                 + mlp(emb(rows[ind], off, per_sample_weights=w)).squeeze(1))
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(
                z, torch.from_numpy(yf[ids]), reduction="none") * torch.from_numpy(sw[ids])).mean()
            sparse_opt.zero_grad()
            dense_opt.zero_grad()
            loss.backward()
            sparse_opt.step()
            dense_opt.step()
    coef = np.zeros(len(idf))
    coef[kept] = wide.weight.detach().numpy()[:, 0]
    l1, l2 = mlp[1], mlp[3]
    deep = {"emb": emb.weight.detach().numpy().astype(np.float64),
            "w1": l1.weight.detach().numpy().T.astype(np.float64),
            "b1": l1.bias.detach().numpy().astype(np.float64),
            "w2": l2.weight.detach().numpy()[0].astype(np.float64)}
    return idf, coef, float(bias.item() + l2.bias.item()), deep


def predict_mlp(X: Any, idf: Any, coef: Any, intercept: float, deep: dict[str, Any],
                bits: int) -> Any:
    """Probabilities for the rows of X (the math of classifier.MLPModel, batched). The
    embeddings are rounded to float16 first, as the artifact stores them."""
    import numpy as np

    Xt = _tfidf_rows(X, idf)
    emb = deep["emb"].astype(np.float16).astype(np.float64)
    shift = bits - int(np.log2(len(emb)))
    h = np.zeros((X.shape[0], emb.shape[1]))
    for i in range(X.shape[0]):
        a, b = Xt.indptr[i], Xt.indptr[i + 1]
        h[i] = Xt.data[a:b] @ emb[Xt.indices[a:b] >> shift]
    hid = np.maximum(np.maximum(h, 0.0) @ deep["w1"] + deep["b1"], 0.0)
    z = np.asarray(Xt @ coef).ravel() + hid @ deep["w2"] + intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def out_of_fold(X: Any, y: Any, groups: list[str], C: float, folds: int = 5,
                model: str = "linear", bits: int = 20) -> Any:
    """Scores for every train row from models that never saw its source family."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    oof = np.zeros(X.shape[0])
    for tr, te in GroupKFold(n_splits=folds).split(X, y, groups):
        if model == "mlp":
            oof[te] = predict_mlp(X[te], *fit_mlp(X[tr], y[tr], bits), bits)
        else:
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
          extra: bool = False, model: str = "linear") -> dict[str, Any]:
    """Fit, pick the threshold from out-of-fold scores, save; return a summary."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from firebreak.scan.classifier import FeatureParams, save

    params = params or FeatureParams(**PARAMS)
    rows = training_rows(data, extra)
    y = np.array([r["label"] for r in rows])
    X = matrix([r["text"] for r in rows], params)
    groups = [r["source"].split("/")[0] for r in rows]  # families, not subsets
    oof = out_of_fold(X, y, groups, C, model=model, bits=params.bits)
    threshold = pick_threshold(oof.tolist(), y.tolist())
    deep = None
    if model == "mlp":
        idf, coef, intercept, deep = fit_mlp(X, y, params.bits)
    else:
        idf, coef, intercept = fit(X, y, C)
    meta = {"rows": len(rows), "oof_auroc": round(float(roc_auc_score(y, oof)), 4),
            "model": model, **({"mlp": MLP} if model == "mlp" else {"C": C}),
            "extra_benign": extra, "target_fpr": TARGET_FPR, "split": "train"}
    save(out, idf, coef, intercept, params, threshold, meta, deep)
    return {**meta, "threshold": threshold, "features": int((idf > 0).sum()), "out": str(out)}


def main() -> None:
    from firebreak.scan.classifier import ARTIFACT

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=ARTIFACT)
    ap.add_argument("--model", choices=["linear", "mlp"], default="linear",
                    help="linear (shipped) or mlp (wide and deep; needs torch to train)")
    ap.add_argument("--C", type=float, default=8.0, help="inverse regularisation (linear)")
    ap.add_argument("--extra-benign", action="store_true",
                    help="add scan/benign_corpus.py's templates and stdlib prose")
    args = ap.parse_args()
    print(json.dumps(train(args.data, args.out, args.C, extra=args.extra_benign,
                           model=args.model)))


if __name__ == "__main__":
    main()
