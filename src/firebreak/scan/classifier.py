"""The injection classifier: sublinear TF-IDF over hashed char n-grams, word uni/bi-grams
and heuristic pattern hits, scored by a logistic regression. The weights ship as a small
`.npz` of plain arrays (no pickle).

`features()` is shared by training (scan/train_injection.py) and scoring, so the two can
never disagree. Hashing runs in numpy, so a text costs tens of microseconds, not
milliseconds; scikit-learn is needed only to train.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from firebreak.scan.normalise import normalise as unmask
from firebreak.scan.patterns import feature_tokens

ARTIFACT = Path(__file__).with_name("artifacts") / "injection.npz"
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier
_PRIME = np.uint64(1_000_003)


@dataclass(frozen=True)
class FeatureParams:
    """How text becomes features; stored in the artifact with the weights."""

    bits: int = 20
    head_chars: int = 800
    tail_chars: int = 200
    char_n: tuple[int, ...] = (3, 4, 5)


def normalise(text: str, p: FeatureParams) -> str:
    """Undo obfuscation (scan/normalise.py), lower-case, collapse whitespace, keep the head
    and the tail of long texts."""
    keep = p.head_chars + p.tail_chars
    if len(text) > 4 * keep:  # bound the work: only the head and the tail are used
        text = text[: 2 * p.head_chars] + " " + text[-2 * p.tail_chars:]
    t = _SPACE.sub(" ", unmask(text).lower()).strip()
    if len(t) > p.head_chars + p.tail_chars:
        t = t[: p.head_chars] + " … " + t[-p.tail_chars:]
    return t


def _crc(items: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(s.encode()) for s in items), dtype=np.uint64, count=len(items))


def features(text: str, p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, counts) of one text's hashed features."""
    t = normalise(text, p)
    codes = np.frombuffer(f" {t} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts: list[np.ndarray] = []
    for n in p.char_n:
        if len(codes) < n:
            continue
        h = np.full(len(codes) - n + 1, np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = h * _PRIME + codes[k:len(codes) - n + 1 + k]
        parts.append(h)
    words = _crc(_WORD.findall(t))
    if len(words):
        parts.append(words * np.uint64(7) + np.uint64(1))
        parts.append(words[:-1] * _PRIME + words[1:] * np.uint64(13) + np.uint64(2))
    heur = feature_tokens(t)
    if heur:
        parts.append(_crc(heur) + np.uint64(3))
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    buckets = ((np.concatenate(parts) * _MIX) >> np.uint64(64 - p.bits)).astype(np.int64)
    idx, counts = np.unique(buckets, return_counts=True)
    return idx, counts.astype(np.float64)


class LinearModel:
    """Sublinear TF-IDF, L2-normalised, dotted with logistic-regression weights."""

    def __init__(self, idf: np.ndarray, coef: np.ndarray, intercept: float,
                 params: FeatureParams, threshold: float, meta: dict[str, Any]) -> None:
        self.idf, self.coef, self.intercept = idf, coef, intercept
        self.params, self.threshold, self.meta = params, threshold, meta

    def assess(self, text: str) -> tuple[float, np.ndarray, np.ndarray]:
        """(probability, feature buckets, each bucket's contribution to the logit)."""
        idx, counts = features(text, self.params)
        v = (1.0 + np.log(counts)) * self.idf[idx]
        norm = float(np.sqrt(v @ v))
        contrib = v * self.coef[idx] / norm if norm else v * 0.0
        z = self.intercept + float(contrib.sum())
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))), idx, contrib

    def score(self, text: str) -> float:
        """Probability that `text` is an injection or jailbreak attempt."""
        return self.assess(text)[0]


def top_buckets(idx: np.ndarray, contrib: np.ndarray, top: int = 5) -> set[int]:
    """The feature buckets that pushed the score up most (for explanations)."""
    order = np.argsort(contrib)[::-1][:top]
    return {int(idx[i]) for i in order if contrib[i] > 0}


def word_spans(text: str, buckets: set[int], p: FeatureParams,
               limit: int = 2000) -> list[tuple[int, int]]:
    """(start, end) of the words of `text` whose unigram feature is in `buckets`."""
    found = list(_WORD.finditer(text[:limit]))
    if not found or not buckets:
        return []
    h = _crc([m.group(0).lower() for m in found]) * np.uint64(7) + np.uint64(1)
    hit = np.isin(((h * _MIX) >> np.uint64(64 - p.bits)).astype(np.int64), list(buckets))
    return [(m.start(), m.end()) for m, ok in zip(found, hit, strict=True) if ok]


def save(path: Path, idf: np.ndarray, coef: np.ndarray, intercept: float,
         params: FeatureParams, threshold: float, meta: dict[str, Any]) -> None:
    """Write the artifact: kept buckets, their idf and weight, and a JSON header."""
    keep = np.flatnonzero(idf)
    header = {"params": {**asdict(params), "char_n": list(params.char_n)},
              "intercept": intercept, "threshold": threshold, "meta": meta}
    np.savez_compressed(path, index=keep.astype(np.int32), idf=idf[keep].astype(np.float32),
                        coef=coef[keep].astype(np.float32), header=np.array(json.dumps(header)))


@lru_cache(maxsize=4)
def load(path: Path = ARTIFACT) -> LinearModel:
    """Load the shipped (or a given) artifact once per process."""
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data["header"]))
        index, idf_kept, coef_kept = data["index"], data["idf"], data["coef"]
    raw = header["params"]
    params = FeatureParams(bits=raw["bits"], head_chars=raw["head_chars"],
                           tail_chars=raw["tail_chars"], char_n=tuple(raw["char_n"]))
    idf = np.zeros(1 << params.bits, dtype=np.float64)
    coef = np.zeros(1 << params.bits, dtype=np.float64)
    idf[index], coef[index] = idf_kept, coef_kept
    return LinearModel(idf, coef, float(header["intercept"]), params,
                       float(header["threshold"]), header.get("meta", {}))
