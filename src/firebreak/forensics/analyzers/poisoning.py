"""Data-poisoning checks on training batches: label flips against a reference model,
near-duplicate clusters, and trigger tokens that predict the label."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from typing import Any

from firebreak.events import TrainingBatch
from firebreak.forensics.case import Case, Finding
from firebreak.store.db import Database

MIN_ROWS = 20
MAX_REFERENCE = 5000
LLM04 = {"owasp_llm": "LLM04:2025", "name": "Data and Model Poisoning", "mitre_atlas": "AML.T0020"}
TOKEN = re.compile(r"[a-z0-9_]{3,}")


def analyze(case: Case, db: Database) -> list[Finding]:
    batches = sorted(
        {
            b.event_id: b
            for b in case.of_kind("training.batch", history=True) + case.of_kind("training.batch")
        }.values(),
        key=lambda b: b.ts,
    )
    out = []
    for i, batch in enumerate(batches):
        assert isinstance(batch, TrainingBatch)
        reference = [r for b in batches[:i] if isinstance(b, TrainingBatch) for r in b.rows][
            -MAX_REFERENCE:
        ]
        if len(batch.rows) < MIN_ROWS:
            continue
        checks = _checks(batch, reference)
        finding = _finding(case, batch, checks)
        if finding is not None:
            out.append(finding)
    return out


def _checks(batch: TrainingBatch, reference: list[dict[str, Any]]) -> dict[str, Any]:
    label = batch.label_column
    flip, baseline = _flip_rate(batch.rows, reference, label)
    return {
        "rows": len(batch.rows),
        "flip_rate": flip,
        "baseline_flip_rate": baseline,
        "near_duplicates": _near_duplicates(batch.rows, label),
        "trigger_tokens": _triggers(batch.rows, reference, label),
    }


def _xy(rows: list[dict[str, Any]], label: str) -> tuple[list[dict[str, Any]], list[str]]:
    feats = []
    for r in rows:
        f: dict[str, Any] = {}
        for k, v in r.items():
            if k == label or v is None:
                continue
            if isinstance(v, str):
                for tok in set(TOKEN.findall(v.lower())):
                    f[f"{k}={tok}"] = 1.0
            else:
                f[k] = float(v)
        feats.append(f)
    return feats, [str(r.get(label)) for r in rows]


def _flip_rate(
    rows: list[dict[str, Any]], reference: list[dict[str, Any]], label: str
) -> tuple[float, float]:
    """Share of labels a reference model disagrees with, in the batch and on the reference."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler

    def model() -> Any:
        return make_pipeline(
            DictVectorizer(), MaxAbsScaler(), LogisticRegression(max_iter=300, solver="liblinear")
        )

    xb, yb = _xy(rows, label)
    xr, yr = _xy(reference, label)
    if len(set(yr)) >= 2 and len(reference) >= MIN_ROWS:
        fitted = model().fit(xr, yr)
        flip = sum(p != y for p, y in zip(fitted.predict(xb), yb, strict=True)) / len(yb)
        # Baseline: how often the reference's own labels disagree with the model they trained.
        return flip, sum(p != y for p, y in zip(fitted.predict(xr), yr, strict=True)) / len(yr)
    if len(set(yb)) < 2 or min(Counter(yb).values()) < 2:
        return 0.0, 0.0
    cv = cross_val_predict(model(), xb, yb, cv=min(3, min(Counter(yb).values())))
    return sum(p != y for p, y in zip(cv, yb, strict=True)) / len(yb), 0.0


def _near_duplicates(rows: list[dict[str, Any]], label: str) -> dict[str, int]:
    groups: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        key = {
            k: (" ".join(str(v).lower().split()) if isinstance(v, str) else v)
            for k, v in r.items()
            if k != label
        }
        groups[hashlib.sha256(repr(sorted(key.items())).encode()).hexdigest()].append(
            str(r.get(label))
        )
    dup = [g for g in groups.values() if len(g) >= 3]
    return {
        "clusters": len(dup),
        "rows": sum(map(len, dup)),
        "conflicting_labels": sum(1 for g in dup if len(set(g)) > 1),
    }


def _triggers(
    rows: list[dict[str, Any]], reference: list[dict[str, Any]], label: str
) -> list[dict[str, Any]]:
    """Tokens frequent in this batch, almost always with one label, and rare in the reference."""

    def tokens(r: dict[str, Any]) -> set[str]:
        return {
            t
            for k, v in r.items()
            if k != label and isinstance(v, str)
            for t in TOKEN.findall(v.lower())
        }

    ref_counts = Counter(t for r in reference for t in tokens(r))
    by_token: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        for t in tokens(r):
            by_token[t][str(r.get(label))] += 1
    out: list[tuple[int, dict[str, Any]]] = []
    for tok, labels in by_token.items():
        n = sum(labels.values())
        lab, top = labels.most_common(1)[0]
        if n >= 5 and top / n >= 0.95 and ref_counts[tok] <= 0.01 * max(len(reference), 1):
            out.append((n, {"token": tok, "rows": n, "label": lab}))
    return [d for _, d in sorted(out, key=lambda nd: -nd[0])[:5]]


def _finding(case: Case, batch: TrainingBatch, c: dict[str, Any]) -> Finding | None:
    excess = max(0.0, c["flip_rate"] - c["baseline_flip_rate"])
    trig, dups = c["trigger_tokens"], c["near_duplicates"]
    score = (
        min(1.0, excess / 0.25) + (0.3 if trig else 0) + (0.2 if dups["conflicting_labels"] else 0)
    )
    if score < 0.3:
        return None
    signs = [
        f"{c['flip_rate']:.0%} of labels disagree with a reference model "
        f"(baseline {c['baseline_flip_rate']:.0%})"
    ]
    if trig:
        signs.append("trigger tokens " + ", ".join(repr(t["token"]) for t in trig))
    if dups["clusters"]:
        signs.append(f"{dups['clusters']} near-duplicate clusters")
    return Finding(
        analyzer="data_poisoning",
        title=f"Training batch {batch.batch_id} looks poisoned",
        cause=f"training_batch:{batch.batch_id}",
        confidence=round(min(0.45 + 0.5 * score, 0.97), 3),
        summary=f"Batch {batch.batch_id} ({batch.dataset or 'dataset unknown'}, {c['rows']} rows): "
        + "; ".join(signs)
        + ".",
        evidence_ids=case.evidence_for("training.batch"),
        event_ids=[batch.event_id],
        details={"batch_id": batch.batch_id, "dataset": batch.dataset, **c},
        taxonomy=LLM04,
    )
