"""Drift detectors fire on planted changes in real rows and stay quiet on matched samples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detect.helpers import context, predictions, window
from firebreak.detect.builtin.drift import FeatureDrift, MissingValues, OutputDrift

REF = slice(0, 3000)
CUR = slice(3000, 5000)


def _windows(flights: pd.DataFrame, current: pd.DataFrame, **kw: object):
    ref = window(predictions(flights.iloc[REF], prefix="r", **kw.get("ref", {})))
    cur = window(predictions(current, prefix="c", **kw.get("cur", {})), 1)
    return ref, cur


def test_feature_drift_quiet_on_matched_sample(flights: pd.DataFrame) -> None:
    ref, cur = _windows(flights, flights.iloc[CUR])
    assert FeatureDrift().detect(context(cur, ref)) == []
    assert MissingValues().detect(context(cur, ref)) == []


def test_feature_drift_names_the_shifted_number(flights: pd.DataFrame) -> None:
    current = flights.iloc[CUR].copy()
    current["dep_delay"] += current["dep_delay"].std() * 0.3
    ref, cur = _windows(flights, current)
    [signal] = FeatureDrift().detect(context(cur, ref))
    assert signal.category == "data_drift" and signal.status == "firing"
    assert [c.key for c in signal.contributors] == ["dep_delay"]
    assert signal.window_start == cur.start and signal.evidence_event_ids
    assert signal.facts["details"]["dep_delay"]["test"] == "ks"


def test_feature_drift_catches_category_shift_and_unseen_value(flights: pd.DataFrame) -> None:
    current = flights.iloc[CUR].copy()
    current.loc[current.index[:100], "origin"] = "SWF"  # an airport the reference never saw
    ua = current["carrier"] == "UA"
    current.loc[ua[ua].index[: ua.sum() // 2], "carrier"] = "DL"
    ref, cur = _windows(flights, current)
    [signal] = FeatureDrift().detect(context(cur, ref))
    assert {c.key for c in signal.contributors} == {"origin", "carrier"}
    assert "c-0" in signal.evidence_event_ids  # first event with the unseen origin
    origin = signal.facts["details"]["origin"]
    assert origin["extra"]["unseen_share"] == 0.05


def test_missing_value_spike(flights: pd.DataFrame) -> None:
    current = flights.iloc[CUR].copy()
    current.loc[current.sample(frac=0.1, random_state=1).index, "air_time"] = np.nan
    ref, cur = _windows(flights, current)
    [signal] = MissingValues().detect(context(cur, ref))
    assert signal.contributors[0].key == "air_time" and signal.value > 0.1
    assert signal.evidence_event_ids
    assert FeatureDrift().detect(context(cur, ref)) == []  # the rest of air_time is unchanged


def test_output_drift(flights: pd.DataFrame) -> None:
    def late(frame: pd.DataFrame, cut: float) -> list[str]:
        return ["late" if d > cut else "on_time" for d in frame["dep_delay"].fillna(0)]

    ref, cur = _windows(flights, flights.iloc[CUR],
                        ref={"output": late(flights.iloc[REF], 15)},
                        cur={"output": late(flights.iloc[CUR], 15)})
    assert OutputDrift().detect(context(cur, ref)) == []
    ref, cur = _windows(flights, flights.iloc[CUR],
                        ref={"output": late(flights.iloc[REF], 15)},
                        cur={"output": late(flights.iloc[CUR], 0)})
    [signal] = OutputDrift().detect(context(cur, ref))
    assert signal.contributors[0].key == "output"


def test_too_few_rows_is_not_judged(flights: pd.DataFrame) -> None:
    ref, cur = _windows(flights, flights.iloc[3000:3050])
    assert FeatureDrift().detect(context(cur, ref)) is None


def test_history_is_the_baseline_without_reference(flights: pd.DataFrame) -> None:
    history = [window(predictions(flights.iloc[i * 500:(i + 1) * 500], prefix=f"h{i}"), i)
               for i in range(6)]
    current = flights.iloc[CUR].copy()
    current["distance"] *= 1.5
    cur = window(predictions(current, prefix="c"), 7)
    [signal] = FeatureDrift().detect(context(cur, None, history))
    assert [c.key for c in signal.contributors] == ["distance"]
