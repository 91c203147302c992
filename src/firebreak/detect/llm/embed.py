"""Optional embedding view of groundedness: LSA word vectors shipped in the package.

No model is downloaded: `lsa.npz` (about 2 MB) holds 64-dimensional word vectors for 16,000
words from a TF-IDF + truncated-SVD fit on WordNet glosses and public prompt texts, trained
by scripts/train_lsa.py. The view it adds: how close in meaning the answer is to the context
sentence nearest to it. What that adds on HaluEval is measured by bench/groundedness.py
--embed (docs/benchmarks.md): nothing by meaning (alone it ranks at chance on length-matched
pairs); the small gain on length-matched pairs comes from answers whose words the model
does not know (rare names), so it is not used by the detectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from io import BytesIO

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from firebreak.detect.llm import text

# Sentence ends; retrieved passages are often glued ("...Roger Avary.Beowulf is ...").
_SENTENCE_END = re.compile(r"(?<=[.!?\"])\s*(?=[A-Z\"])|\n+")
_W_EMBED = 0.02


class LSA:
    """Word vectors with their IDF weights; texts embed as the IDF-weighted mean vector."""

    def __init__(self, vocab: Sequence[str], idf: np.ndarray, vectors: np.ndarray) -> None:
        if len(vocab) != len(idf) or len(vocab) != len(vectors):
            raise ValueError("lsa: vocab, idf and vectors must have one row per word")
        self.index = {w: i for i, w in enumerate(vocab)}
        unit = vectors.astype(np.float32)
        unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-9)
        self.unit = unit  # unit-length word vectors: a dot product is a cosine
        self.idf = idf.astype(np.float32)

    def embed(self, text_: str) -> np.ndarray:
        """Unit-length IDF-weighted mean of the text's word vectors (zeros if none known)."""
        ids = [self.index[w] for w in text.words(text_)
               if w in self.index and w not in ENGLISH_STOP_WORDS]
        if not ids:
            return np.zeros(self.unit.shape[1], dtype=np.float32)
        v = (self.unit[ids] * self.idf[ids, None]).sum(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-9)

    def support(self, answer: str, context: str | Sequence[str]) -> float:
        """Best cosine between the answer's embedding and one context sentence's, in [0, 1];
        0 when the model knows none of the answer's words."""
        chunks = [context] if isinstance(context, str) else list(context)
        a = self.embed(answer)
        best = 0.0
        for chunk in chunks:
            for sentence in _SENTENCE_END.split(chunk):
                if sentence.strip():
                    best = max(best, float(a @ self.embed(sentence)))
        return best

    def groundedness(self, answer: str, context: str | Sequence[str], question: str = "") -> float:
        """text.groundedness blended with `support` (weight chosen on the bench's tune half)."""
        lexical = text.groundedness(answer, context, question)
        return (1.0 - _W_EMBED) * lexical + _W_EMBED * self.support(answer, context)


@lru_cache(maxsize=1)
def load_lsa() -> LSA:
    """The LSA model shipped with Firebreak (firebreak/detect/llm/lsa.npz)."""
    raw = resources.files("firebreak.detect.llm").joinpath("lsa.npz").read_bytes()
    with np.load(BytesIO(raw)) as npz:
        return LSA([str(w) for w in npz["vocab"]], npz["idf"], npz["vectors"])
