"""Train the optional LSA word vectors of firebreak.detect.llm.embed (no download needed).

LSA: TF-IDF over a public corpus, then a truncated SVD; each word's row of the SVD is its
vector. The corpus is two public sets that are on the machine already:
- WordNet 3.0 (Princeton, WordNet licence, a permissive BSD-style one): every synset's words
  and gloss as one document; from the Debian package wordnet-base (/usr/share/wordnet);
- the texts of ../shared/data/injection/dev.jsonl (prompts, questions, emails, tables).
Not the HaluEval set the groundedness bench scores.

    apt-get install wordnet-base
    .venv/bin/python scripts/train_lsa.py [--dims 64] [--words 16000]

Writes src/firebreak/detect/llm/lsa.npz (float16 vectors, a few MB).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from firebreak.detect.llm.text import words

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/firebreak/detect/llm/lsa.npz"
WORDNET = Path("/usr/share/wordnet")
INJECTION = ROOT.parent / "shared/data/injection/dev.jsonl"
if not INJECTION.exists():
    INJECTION = Path("/work/shared/data/injection/dev.jsonl")


def wordnet_docs() -> list[str]:
    docs = []
    for part in ("noun", "verb", "adj", "adv"):
        for line in (WORDNET / f"data.{part}").open(encoding="utf-8", errors="replace"):
            if line.startswith("  "):  # the licence header
                continue
            head, _, gloss = line.partition(" | ")
            f = head.split()
            n = int(f[3], 16)
            lemmas = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
            docs.append(" ".join(lemmas) + " " + gloss)
    return docs


def injection_docs() -> list[str]:
    with INJECTION.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--words", type=int, default=16000)
    args = ap.parse_args()
    docs = wordnet_docs() + injection_docs()
    tfidf = TfidfVectorizer(tokenizer=words, lowercase=False, token_pattern=None,
                            stop_words=sorted(ENGLISH_STOP_WORDS), min_df=3,
                            max_features=args.words, sublinear_tf=True, dtype=np.float32)
    x = tfidf.fit_transform(docs)
    svd = TruncatedSVD(n_components=args.dims, random_state=0, algorithm="randomized")
    svd.fit(x)
    vocab = tfidf.get_feature_names_out()
    vectors = svd.components_.T * svd.singular_values_  # one row per word (V times Sigma)
    np.savez_compressed(OUT, vocab=np.array(list(vocab), dtype=str),
                        idf=tfidf.idf_.astype(np.float32), vectors=vectors.astype(np.float16))
    print(f"{len(docs)} documents, {len(vocab)} words x {args.dims} dims, "
          f"explained variance {svd.explained_variance_ratio_.sum():.3f}, "
          f"{OUT.stat().st_size / 1e6:.2f} MB -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
