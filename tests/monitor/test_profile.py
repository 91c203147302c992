"""Profiles are mergeable: merge(parts) == profile(union), zero is the identity."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from firebreak.monitor.profile import ColumnProfile, DatasetProfile

numbers = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))
words = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "dd", "é", "x y"]))
rows = st.lists(st.fixed_dictionaries({"n": numbers, "c": words}), max_size=60)


def _summary(profile: DatasetProfile) -> dict[str, object]:
    out: dict[str, object] = {"rows": profile.rows}
    for name, col in sorted(profile.columns.items()):
        quantiles = None
        if col.kll is not None:  # below k items KLL keeps every value: exact quantiles
            quantiles = [col.kll.get_quantile(q) for q in (0, 0.25, 0.5, 0.75, 1)]
        out[name] = (col.count, col.missing, col.numeric_count, quantiles, col.categories(),
                     round(col.distinct()))
    return out


def _profile(part: list[dict[str, object]]) -> DatasetProfile:
    profile = DatasetProfile.zero()
    if part:
        frame = pd.DataFrame(part, columns=["n", "c"]).astype({"n": float, "c": object})
        profile.update(frame)
    return profile


@settings(max_examples=60, deadline=None)
@given(rows, rows)
def test_merge_of_parts_equals_profile_of_union(left: list, right: list) -> None:
    merged = _profile(left).merge(_profile(right))
    assert _summary(merged) == _summary(_profile(left + right))


@settings(max_examples=40, deadline=None)
@given(rows)
def test_zero_is_identity_and_serialization_round_trips(part: list) -> None:
    profile = _profile(part)
    assert _summary(profile.merge(DatasetProfile.zero())) == _summary(profile)
    assert _summary(DatasetProfile.zero().merge(profile)) == _summary(profile)
    assert _summary(DatasetProfile.from_bytes(profile.to_bytes())) == _summary(profile)


@settings(max_examples=30, deadline=None)
@given(rows, rows, rows)
def test_merge_is_associative(a: list, b: list, c: list) -> None:
    pa, pb, pc = _profile(a), _profile(b), _profile(c)
    assert _summary(pa.merge(pb).merge(pc)) == _summary(pa.merge(pb.merge(pc)))


def test_column_seen_late_counts_earlier_rows_as_missing() -> None:
    profile = DatasetProfile.of({"a": [1.0, 2.0]})
    profile.update({"a": [3.0], "b": ["x"]})
    assert profile.rows == 3
    assert (profile.columns["b"].count, profile.columns["b"].missing) == (3, 2)
    assert profile.columns["a"].numeric_count == 3


def test_numbers_and_text_go_to_the_right_sketch() -> None:
    col = ColumnProfile()
    col.update([1, None, 2.5, float("nan")])
    col.update(pd.Series(["u", None, "v"], dtype="string"))
    assert (col.count, col.missing, col.numeric_count) == (7, 3, 2)
    assert col.categories() == {"u": 1, "v": 1}
    assert math.isclose(col.kll.get_quantile(1.0), 2.5)
