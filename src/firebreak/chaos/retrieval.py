"""The reference responder's knowledge: a small support corpus and TF-IDF retrieval.

The corpus (corpus/support.json) is our own writing about a fictional router maker. It also
lists benign support questions with the fact each answer must contain, which the red-team
benchmark and chaos scenarios use as the steady-state check.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel


@dataclass(frozen=True)
class Chunk:
    """One retrievable document (documents are short, so a document is one chunk)."""

    doc_id: str
    text: str
    source: str = "kb"
    title: str = ""
    score: float = 0.0


@lru_cache(maxsize=1)
def load_corpus() -> dict[str, Any]:
    """The bundled corpus: {'documents': [...], 'questions': [{'q', 'expect'}]}."""
    text = resources.files("firebreak.chaos").joinpath("corpus/support.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def benign_questions() -> list[dict[str, str]]:
    """Support questions with the fact a correct answer contains."""
    return list(load_corpus()["questions"])


class Retriever:
    """TF-IDF retrieval over the corpus plus documents inserted at run time."""

    def __init__(self, documents: list[Chunk] | None = None) -> None:
        base = documents if documents is not None else [
            Chunk(d["doc_id"], d["text"], d.get("source", "kb"), d.get("title", ""))
            for d in load_corpus()["documents"]]
        self._base = list(base)
        self._inserted: list[Chunk] = []
        self._lock = threading.Lock()
        self._fit()

    def _fit(self) -> None:
        self._chunks = self._base + self._inserted
        self._vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        self._matrix = self._vectorizer.fit_transform(f"{c.title} {c.text}" for c in self._chunks)
        # Scores per query against this index: traffic repeats its questions, and the
        # responder looks one question up several times; a refit starts a new cache.
        self._scores: dict[str, Any] = {}

    def insert(self, chunks: list[Chunk]) -> None:
        """Add documents (e.g. a red-team attack document or a poisoned source)."""
        with self._lock:
            self._inserted += chunks
            self._fit()

    def clear_inserted(self) -> int:
        """Remove every inserted document; returns how many were removed."""
        with self._lock:
            count = len(self._inserted)
            self._inserted = []
            self._fit()
        return count

    @property
    def inserted(self) -> list[Chunk]:
        return list(self._inserted)

    def search(self, query: str, k: int = 3) -> list[Chunk]:
        """The k best chunks for the query with a positive score, best first."""
        with self._lock:
            scores = self._scores.get(query)
            if scores is None:
                scores = linear_kernel(self._vectorizer.transform([query]), self._matrix)[0]
                if len(self._scores) >= 4096:
                    self._scores.clear()
                self._scores[query] = scores
            chunks = self._chunks
        order = scores.argsort()[::-1][:k]
        return [Chunk(chunks[i].doc_id, chunks[i].text, chunks[i].source, chunks[i].title,
                      float(scores[i])) for i in order if scores[i] > 0]
