"""Training-data poisoning in training.batch events.

Four checks against the reference batches: the label distribution moved; a burst of
(near-)duplicate rows; rows whose label a reference model contradicts at an unusual rate
(label flips); and tokens or feature values that predict one label far better than they
did in the reference (backdoor triggers).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.stats import chi2_contingency, norm

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.llm.rates import rate_rise
from firebreak.detect.llm.text import words
from firebreak.detect.stats import two_proportions
from firebreak.monitor.base import DeploymentMemory
from firebreak.signals import Contributor, Signal

SAMPLE = 6000
TOKENS = 20_000
EXACT_ROWS = 1000  # rows up to which a trigger's p-value is exact


def row_tokens(row: dict[str, Any], label_column: str) -> set[str]:
    """Tokens of a row: words of text values, `col=value` for short values."""
    out: set[str] = set()
    for col, value in row.items():
        if col == label_column or value is None:
            continue
        if isinstance(value, str) and len(value) > 40:
            out.update(f"{col}:{w}" for w in words(value))
        else:
            out.add(f"{col}={value}")
    return out


def row_features(row: dict[str, Any], label_column: str) -> dict[str, float]:
    """Features for the reference model: numbers as they are, the rest as tokens."""
    feats: dict[str, float] = {}
    for col, value in row.items():
        if col == label_column or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        feats[col] = float(value)
    for token in row_tokens({k: v for k, v in row.items()
                             if not isinstance(v, int | float) or isinstance(v, bool)},
                            label_column):
        feats[token] = 1.0
    return feats


class TrainingAggregate:
    """Label counts, duplicate rows, token-by-label counts and a sample of rows."""

    name: ClassVar[str] = "training"
    kinds: ClassVar[frozenset[str]] = frozenset({"training.batch"})

    def __init__(self) -> None:
        self.n = 0
        self.labels: Counter[str] = Counter()
        self.hashes: Counter[str] = Counter()
        self.token_labels: Counter[str] = Counter()   # "token\x1flabel" -> rows
        self.tokens: Counter[str] = Counter()
        self.sample: list[tuple[dict[str, Any], str]] = []  # (row, label column)
        self.seen = 0
        self.batch_ids: list[str] = []

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        for e in events:
            if e.kind != "training.batch":
                continue
            self.batch_ids.append(e.event_id)
            for row in e.rows:
                self._fold(row, e.label_column)
        self._trim()

    def _fold(self, row: dict[str, Any], label_column: str) -> None:
        label = str(row.get(label_column))
        self.n += 1
        self.labels[label] += 1
        digest = hashlib.blake2b(repr(sorted((k, v) for k, v in row.items() if k != label_column))
                                 .encode(), digest_size=8).hexdigest()
        self.hashes[digest] += 1
        for token in row_tokens(row, label_column):
            self.tokens[token] += 1
            self.token_labels[f"{token}\x1f{label}"] += 1
        self.seen += 1
        if len(self.sample) < SAMPLE:
            self.sample.append((row, label_column))
        elif (j := random.randrange(self.seen)) < SAMPLE:
            self.sample[j] = (row, label_column)

    def _trim(self) -> None:
        if len(self.tokens) > TOKENS:
            keep = {t for t, _ in self.tokens.most_common(TOKENS)}
            self.tokens = Counter({t: c for t, c in self.tokens.items() if t in keep})
            self.token_labels = Counter({k: c for k, c in self.token_labels.items()
                                         if k.split("\x1f", 1)[0] in keep})
        if len(self.hashes) > 4 * SAMPLE:
            self.hashes = Counter(dict(self.hashes.most_common(4 * SAMPLE)))

    def duplicates(self) -> int:
        return sum(c - 1 for c in self.hashes.values() if c > 1)

    def merge(self, other: Self) -> Self:
        out = type(self)()
        out.n, out.seen = self.n + other.n, self.seen + other.seen
        out.labels = self.labels + other.labels
        out.hashes = self.hashes + other.hashes
        out.tokens = self.tokens + other.tokens
        out.token_labels = self.token_labels + other.token_labels
        pool = self.sample + other.sample
        out.sample = pool if len(pool) <= SAMPLE else random.sample(pool, SAMPLE)
        out.batch_ids = (self.batch_ids + other.batch_ids)[-100:]
        out._trim()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = cls()
        for key, value in data.items():
            current = getattr(out, key)
            setattr(out, key, Counter(value) if isinstance(current, Counter) else value)
        out.sample = [(dict(r), str(c)) for r, c in out.sample]
        return out


def at_least(k: int, n: int, chances: np.ndarray | None) -> float:
    """P(at least k of n rows carry the label) when each row carries it with its own chance
    (a Poisson binomial; `chances` are spread over the n rows in turn when fewer). Exact up
    to EXACT_ROWS rows, a normal approximation above (the exact sum is quadratic in n)."""
    if chances is None or not len(chances):
        return 1.0
    p = np.resize(np.clip(chances, 1e-9, 1 - 1e-9), n)
    if n > EXACT_ROWS:
        mean, var = float(p.sum()), float((p * (1 - p)).sum())
        return float(norm.sf(k - 0.5, mean, np.sqrt(var)))
    dist = np.ones(1)
    for q in p:  # the count's distribution, one row at a time
        dist = np.convolve(dist, [1 - q, q])
    return float(min(1.0, dist[k:].sum()))


class TrainingPoisoning(BaseDetector):
    """Flags a training batch that looks poisoned (see module docstring)."""

    name: ClassVar[str] = "training_poisoning"
    category: ClassVar[str] = "data_poisoning"
    reads: ClassVar[frozenset[str]] = frozenset({"training.batch"})
    aggregates: ClassVar[tuple[type, ...]] = (TrainingAggregate,)

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_rows: int = 200
        alpha: float = 1e-6
        min_label_shift: float = 0.05
        min_trigger_rows: int = 10
        trigger_purity: float = 0.95
        trigger_novelty: float = 5.0
        min_flip_lift: float = 0.01
        flip_confidence: float = 0.9
        flip_alpha: float = 1e-3  # per batch: batches are rare, unlike request windows

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._model_cache: dict[int, tuple[Any, int, int]] = {}

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        agg, base = ctx.window.get("training"), ctx.baseline("training")
        need = self.config.min_rows
        if agg is None or agg.n < need or base is None or base.n < need:
            return None
        found = [*self._label_shift(ctx, agg, base), *self._duplicates(ctx, agg, base),
                 *self._flips(ctx, agg, base), *self._triggers(ctx, agg, base)]
        return found

    def _signal(self, ctx: DetectionContext, agg: Any, metric: str, value: float,
                threshold: float, message: str, **extra: Any) -> Signal:
        facts = {"check": metric, **extra.pop("facts", {})}
        return self.signal(ctx, metric=metric, value=value, threshold=threshold, message=message,
                           evidence=agg.batch_ids, facts=facts, **extra)

    def _label_shift(self, ctx: DetectionContext, agg: Any, base: Any) -> list[Signal]:
        labels = sorted(set(agg.labels) | set(base.labels))
        if len(labels) < 2:
            return []
        table = np.array([[base.labels.get(k, 0) for k in labels],
                          [agg.labels.get(k, 0) for k in labels]]) + 0.5
        p = float(chi2_contingency(table)[1])
        shares = table / table.sum(axis=1, keepdims=True)
        tvd = float(np.abs(shares[0] - shares[1]).sum() / 2)
        if p >= self.config.alpha or tvd < self.config.min_label_shift:
            return []
        return [self._signal(ctx, agg, "label_shift", tvd, self.config.min_label_shift,
                             f"label distribution moved by {tvd:.1%} (p={p:.1e})")]

    def _duplicates(self, ctx: DetectionContext, agg: Any, base: Any) -> list[Signal]:
        test = rate_rise(agg.duplicates(), agg.n, base.duplicates(), base.n, min_count=20,
                         min_lift=0.02, alpha=self.config.alpha)
        if not test.fires:
            return []
        return [self._signal(ctx, agg, "duplicate_rows", test.rate, test.baseline,
                             f"{test.count} duplicated rows ({test.rate:.1%}) against "
                             f"{test.baseline:.2%} in the reference")]

    def _reference_model(self, base: Any) -> tuple[Any, int, int]:
        """A model of the reference's labels, and its confident contradictions on held-out
        reference rows: (model, contradicted rows, held-out rows)."""
        key = id(base)
        if key not in self._model_cache:
            from sklearn.feature_extraction import FeatureHasher
            from sklearn.linear_model import SGDClassifier
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            rows = list(base.sample)
            random.Random(0).shuffle(rows)
            cut = int(len(rows) * 0.7)
            # A linear model over hashed features: fast on thousands of rows, any schema.
            model = make_pipeline(FeatureHasher(2**16), StandardScaler(with_mean=False),
                                  SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=30,
                                                tol=None, random_state=0))
            model.fit(*self._xy(rows[:cut]))
            held = rows[cut:]
            self._model_cache = {key: (model, self._contradicted(model, held), len(held))}
        return self._model_cache[key]

    def _expected_labels(self, base: Any, agg: Any,
                         tokens: list[str]) -> dict[str, dict[str, np.ndarray]]:
        """token -> label -> the chance the reference model gives that label, for each sampled
        row carrying the token, judged on the rest of the row, and never below the model's
        confident-error rate. A value that predicts its label by itself (a departure delay of
        102 minutes is late) is then no trigger; a planted token whose label the row does not
        explain still is. Without sampled rows for a token, the batch's label share for every
        row."""
        shares = {k: np.array([v / agg.n]) for k, v in agg.labels.items()}
        out: dict[str, dict[str, np.ndarray]] = {t: shares for t in tokens}
        if not tokens or len(set(agg.labels) | set(base.labels)) < 2:
            return out
        wanted = set(tokens)
        rows: dict[str, list[tuple[dict[str, Any], str]]] = {t: [] for t in tokens}
        for row, col in agg.sample:
            for t in row_tokens(row, col) & wanted:
                rows[t].append((row, col))
        model, wrong, n = self._reference_model(base)
        # The model is confidently wrong on this share of held-out reference rows: no row's
        # label is rarer than that (its probabilities saturate at 0 and 1 otherwise).
        floor = max(wrong / max(n, 1), 0.01)
        for t, held in rows.items():
            if held:
                proba = np.clip(model.predict_proba(self._xy(held)[0]), floor, 1 - floor)
                out[t] = {str(k): proba[:, i] for i, k in enumerate(model.classes_)}
        return out

    @staticmethod
    def _xy(rows: list[tuple[dict[str, Any], str]]) -> tuple[list[dict[str, float]], list[str]]:
        return [row_features(r, c) for r, c in rows], [str(r.get(c)) for r, c in rows]

    def _contradicted(self, model: Any, rows: list[tuple[dict[str, Any], str]]) -> int:
        """Rows whose label the model confidently contradicts."""
        x, y = self._xy(rows)
        proba = model.predict_proba(x)
        predicted = model.classes_[proba.argmax(axis=1)]
        sure = proba.max(axis=1) >= self.config.flip_confidence
        return int(np.sum(sure & (predicted != np.asarray(y))))

    def _flips(self, ctx: DetectionContext, agg: Any, base: Any) -> list[Signal]:
        if len(set(agg.labels) | set(base.labels)) < 2:
            return []
        model, base_wrong, base_n = self._reference_model(base)
        wrong, n = self._contradicted(model, agg.sample), len(agg.sample)
        p = two_proportions(base_wrong, base_n, wrong, n, alternative="greater")
        rate, base_rate = wrong / n, base_wrong / max(base_n, 1)
        if p >= self.config.flip_alpha or rate - base_rate < self.config.min_flip_lift:
            return []
        return [self._signal(ctx, agg, "label_contradictions", rate, base_rate,
                             f"a reference model confidently contradicts {rate:.1%} of labels "
                             f"against {base_rate:.1%} in the reference: labels look flipped "
                             f"(p={p:.1e})",
                             facts={"contradiction_rate": rate, "reference_rate": base_rate})]

    def _triggers(self, ctx: DetectionContext, agg: Any, base: Any) -> list[Signal]:
        c = self.config
        candidates = [t for t, n in agg.tokens.items() if n >= c.min_trigger_rows and
                      (n / agg.n) / ((base.tokens.get(t, 0) + 1) / base.n) >= c.trigger_novelty]
        expected = self._expected_labels(base, agg, candidates)
        found: list[tuple[str, str, int, float]] = []
        for token in candidates:  # Bonferroni over the tokens actually tested
            count = agg.tokens[token]
            label, pure = max(((lab, agg.token_labels.get(f"{token}\x1f{lab}", 0))
                               for lab in agg.labels), key=lambda t: t[1])
            p = at_least(pure, count, expected[token].get(label))
            if pure / count >= c.trigger_purity and p < c.flip_alpha / len(candidates):
                found.append((token, label, count, pure / count))
        if not found:
            return []
        found.sort(key=lambda t: -t[2])
        token, label, count, purity = found[0]
        return [self._signal(
            ctx, agg, "backdoor_trigger", purity, c.trigger_purity,
            f"token {token!r} appears in {count} rows ({count / agg.n:.1%}), new against the "
            f"reference, and {purity:.0%} of them carry label {label!r}: a backdoor trigger",
            contributors=[Contributor(kind="feature", key=t, value=float(n), detail=f"label {lab}")
                          for t, lab, n, _ in found[:10]],
            facts={"trigger": token, "label": label})]
