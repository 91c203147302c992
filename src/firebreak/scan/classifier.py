"""The injection classifier: sublinear TF-IDF over hashed char n-grams, word uni/bi-grams
and heuristic pattern hits, scored by a logistic regression or by a small "wide and deep"
network (the same linear part plus a bag of hashed-feature embeddings and a two-layer
perceptron, trained with torch by scan/train_injection.py, scored here with numpy). The
weights ship as a small `.npz` of plain arrays (no pickle).

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
from firebreak.scan.patterns import feature_tokens, matches

ARTIFACT = Path(__file__).with_name("artifacts") / "injection.npz"
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier
_PRIME = np.uint64(1_000_003)


@dataclass(frozen=True)
class FeatureParams:
    """How text becomes features; stored in the artifact with the weights. The defaults of
    the later fields reproduce older artifacts that predate them."""

    bits: int = 20
    head_chars: int = 800
    tail_chars: int = 200
    char_n: tuple[int, ...] = (3, 4, 5)
    word_n: int = 2  # word n-grams up to this length
    style: bool = False  # stylistic tokens (second person, imperatives, role words, ...)
    pattern_chars: int = 0  # patterns read this many leading chars; 0 = the cut text


def cut(text: str, p: FeatureParams) -> str:
    """Bound the work on long texts: only the head and the tail are used."""
    if len(text) > 1.5 * (p.head_chars + p.tail_chars):  # slack for collapsed whitespace
        return text[: 3 * p.head_chars // 2] + " " + text[-3 * p.tail_chars // 2:]
    return text


def normalise(text: str, p: FeatureParams, unmasked: bool = False) -> str:
    """Undo obfuscation (scan/normalise.py) unless `unmasked` says it is done, lower-case,
    collapse whitespace, keep the head and the tail of long texts."""
    text = cut(text, p)
    t = _SPACE.sub(" ", (text if unmasked else unmask(text)).lower()).strip()
    if len(t) > p.head_chars + p.tail_chars:
        t = t[: p.head_chars] + " … " + t[-p.tail_chars:]
    return t


def _crc(items: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(s.encode()) for s in items), dtype=np.uint64, count=len(items))


_YOU = frozenset(["you", "your", "yours", "yourself", "yourselves", "you're", "youre", "u", "ur"])
# Verbs that open an order to the model; counted at sentence starts only.
_IMPERATIVE = frozenset([
    "ignore", "disregard", "forget", "act", "pretend", "imagine", "respond", "reply", "answer",
    "say", "write", "print", "output", "tell", "reveal", "repeat", "do", "don't", "never", "always",
    "begin", "start", "stop", "remember", "follow", "obey"
])
_IMPERATIVE2 = frozenset(["from now", "you will", "you must", "you are"])
_FIRST_WORDS = re.compile(r"(?:please )?(\w+(?:'t)?)(?: (\w+))?")
_SENTENCE_START = re.compile(r"[.!?:;] (?:please )?(\w+(?:'t)?)(?: (\w+))?")
_ROLE = frozenset([
    "system", "user", "assistant", "ai", "model", "chatbot", "bot", "gpt", "chatgpt", "llm",
    "prompt", "prompts", "instruction", "instructions", "rules", "developer", "admin",
    "administrator", "mode", "persona", "character", "roleplay", "role"
])
_DELIM = re.compile(r"[#=*_~|<>\[\]{}`]{2,}|-{3,}|%{2,}")
_QUOTES = "\"'“”«»"


def _bucket(count: float) -> int:
    return min(int(np.log2(1.0 + count)), 7)


def style_tokens(raw: str, t: str, words: list[str]) -> list[str]:
    """Stylistic tokens of one text: length, second-person address, imperatives at sentence
    starts, words about roles and rules, delimiter runs, quotes, lines, ASCII capitals."""
    n = max(len(words), 1)
    you = sum(map(_YOU.__contains__, words))
    role = sum(map(_ROLE.__contains__, words))
    first = _FIRST_WORDS.match(t)
    starts = ([first.groups("")] if first else []) + _SENTENCE_START.findall(t)
    imp = sum(a in _IMPERATIVE or f"{a} {b}" in _IMPERATIVE2 for a, b in starts)
    head = np.frombuffer(raw[: len(t)].encode("utf-32-le"), dtype=np.uint32)
    upper = int(((head >= 65) & (head <= 90)).sum())
    letters = upper + int(((head >= 97) & (head <= 122)).sum())
    return [f"s:len:{_bucket(len(raw) / 16)}", f"s:words:{_bucket(n / 4)}",
            f"s:you:{_bucket(you)}", f"s:youd:{min(int(20 * you / n), 5)}",
            f"s:imp:{_bucket(imp)}", f"s:role:{_bucket(role)}",
            f"s:roled:{min(int(20 * role / n), 5)}", f"s:delim:{_bucket(len(_DELIM.findall(t)))}",
            f"s:quote:{_bucket(sum(map(t.count, _QUOTES)))}",
            f"s:lines:{_bucket(raw.count(chr(10), 0, len(t)))}",
            f"s:upper:{min(10 * upper // max(letters, 1), 5)}",
            f"s:qend:{t.rstrip().endswith('?')}"]


def pattern_names(text: str, p: FeatureParams) -> list[str]:
    """Names of the patterns matching the head of an unmasked text (as the scanner sees it)."""
    return [pat.name for pat, _ in matches(text[: p.pattern_chars])]


def features(text: str, p: FeatureParams, hits: list[str] | None = None,
             unmasked: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, counts) of one text's hashed features.

    `hits` are the names of the patterns that match the text (the scanner has them already,
    so it passes them in); `unmasked` says the text has been through scan/normalise.py.
    """
    text = cut(text, p) if unmasked else unmask(cut(text, p))
    t = normalise(text, p, unmasked=True)
    codes = np.frombuffer(f" {t} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts: list[np.ndarray] = []
    for n in p.char_n:
        if len(codes) < n:
            continue
        h = np.full(len(codes) - n + 1, np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = h * _PRIME + codes[k:len(codes) - n + 1 + k]
        parts.append(h)
    tokens = _WORD.findall(t)
    words = _crc(tokens)
    if len(words):
        parts.append(words * np.uint64(7) + np.uint64(1))
        parts.append(words[:-1] * _PRIME + words[1:] * np.uint64(13) + np.uint64(2))
        if p.word_n >= 3 and len(words) > 2:
            parts.append((words[:-2] * _PRIME + words[1:-1]) * _PRIME
                         + words[2:] * np.uint64(17) + np.uint64(4))
    if p.pattern_chars:
        if hits is None:
            hits = pattern_names(text, p)
        heur = [f"h:{name}" for name in hits]
    else:
        heur = feature_tokens(t)
    if p.style:
        heur += style_tokens(text, t, tokens)
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

    def assess(self, text: str, hits: list[str] | None = None,
               unmasked: bool = False) -> tuple[float, np.ndarray, np.ndarray]:
        """(probability, feature buckets, each bucket's contribution to the logit).
        `hits` and `unmasked` as for `features()`."""
        idx, counts = features(text, self.params, hits, unmasked)
        v = (1.0 + np.log(counts)) * self.idf[idx]
        norm = float(np.sqrt(v @ v))
        contrib = v * self.coef[idx] / norm if norm else v * 0.0
        z = self.intercept + float(contrib.sum())
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))), idx, contrib

    def score(self, text: str) -> float:
        """Probability that `text` is an injection or jailbreak attempt."""
        return self.assess(text)[0]


class MLPModel(LinearModel):
    """The linear model plus a deep part: the same TF-IDF weights pool a 16-dim embedding
    per feature bucket (buckets share rows: the embedding table has 2**emb_bits rows), then
    ReLU, a hidden layer, ReLU and one output added to the linear logit. Explanations use
    the linear part's contributions."""

    def __init__(self, idf: np.ndarray, coef: np.ndarray, intercept: float,
                 params: FeatureParams, threshold: float, meta: dict[str, Any],
                 emb: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> None:
        super().__init__(idf, coef, intercept, params, threshold, meta)
        self.emb, self.w1, self.b1, self.w2 = emb, w1, b1, w2
        self.shift = np.int64(params.bits - int(np.log2(len(emb))))

    def assess(self, text: str, hits: list[str] | None = None,
               unmasked: bool = False) -> tuple[float, np.ndarray, np.ndarray]:
        idx, counts = features(text, self.params, hits, unmasked)
        v = (1.0 + np.log(counts)) * self.idf[idx]
        norm = float(np.sqrt(v @ v))
        if not norm:
            return float(1.0 / (1.0 + np.exp(-self.intercept))), idx, v * 0.0
        v /= norm
        contrib = v * self.coef[idx]
        h = np.maximum(v @ self.emb[idx >> self.shift], 0.0)
        deep = float(np.maximum(h @ self.w1 + self.b1, 0.0) @ self.w2)
        z = self.intercept + float(contrib.sum()) + deep
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))), idx, contrib


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
         params: FeatureParams, threshold: float, meta: dict[str, Any],
         deep: dict[str, np.ndarray] | None = None) -> None:
    """Write the artifact: kept buckets, their idf and weight, and a JSON header; with
    `deep` (arrays emb, w1, b1, w2) also the deep part of an MLPModel."""
    keep = np.flatnonzero(idf)
    header = {"params": {**asdict(params), "char_n": list(params.char_n)},
              "intercept": intercept, "threshold": threshold, "meta": meta}
    extra = {} if deep is None else {
        "emb": deep["emb"].astype(np.float16), "w1": deep["w1"].astype(np.float32),
        "b1": deep["b1"].astype(np.float32), "w2": deep["w2"].astype(np.float32)}
    np.savez_compressed(path, index=keep.astype(np.int32), idf=idf[keep].astype(np.float32),
                        coef=coef[keep].astype(np.float32), header=np.array(json.dumps(header)),
                        **extra)


@lru_cache(maxsize=4)
def load(path: Path = ARTIFACT) -> LinearModel:
    """Load the shipped (or a given) artifact once per process."""
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data["header"]))
        index, idf_kept, coef_kept = data["index"], data["idf"], data["coef"]
        deep = ({k: data[k].astype(np.float64) for k in ("emb", "w1", "b1", "w2")}
                if "emb" in data.files else None)
    raw = header["params"]
    params = FeatureParams(**{**raw, "char_n": tuple(raw["char_n"])})
    idf = np.zeros(1 << params.bits, dtype=np.float64)
    coef = np.zeros(1 << params.bits, dtype=np.float64)
    idf[index], coef[index] = idf_kept, coef_kept
    args = (idf, coef, float(header["intercept"]), params, float(header["threshold"]),
            header.get("meta", {}))
    if deep is not None:
        return MLPModel(*args, deep["emb"], deep["w1"], deep["b1"], deep["w2"])
    return LinearModel(*args)
