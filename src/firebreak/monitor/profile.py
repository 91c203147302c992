"""Mergeable column and dataset profiles built on Apache DataSketches.

A `ColumnProfile` keeps, for one column: plain counters (rows, missing), a KLL sketch of
its numbers, a frequent-items sketch of its categories and an HLL sketch of its distinct
categories. A `DatasetProfile` is a set of column profiles plus a row count.

Like whylogs' metrics, every profile has `zero()` (the identity), a batched `update` and a
`merge` that returns a new profile: merging the profiles of two parts of a data set gives
the profile of the whole (exactly for counters, frequent items below the map size and
HLL registers; within the sketches' error bounds for KLL quantiles). Profiles serialize to
bytes so that windows can be stored and merged across workers.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import datasketches as ds
import numpy as np
import orjson
import pandas as pd

KLL_K = 400                 # rank error about 0.7 % (99 % confidence); KS stays sharp at 1M rows
FREQ_LG_MAP = 10            # frequent items: exact below ~750 distinct categories
HLL_LG_K = 12               # about 1.6 % relative error on distinct counts
_NO_FP = ds.frequent_items_error_type.NO_FALSE_POSITIVES


def _kll() -> ds.kll_doubles_sketch:
    return ds.kll_doubles_sketch(KLL_K)


def _freq() -> ds.frequent_strings_sketch:
    return ds.frequent_strings_sketch(FREQ_LG_MAP)


def _hll() -> ds.hll_sketch:
    return ds.hll_sketch(HLL_LG_K)


@dataclass
class ColumnProfile:
    """Counters and sketches for one column; numbers and categories may both appear."""

    count: int = 0
    missing: int = 0
    kll: ds.kll_doubles_sketch | None = None
    freq: ds.frequent_strings_sketch | None = None
    hll: ds.hll_sketch | None = None

    @classmethod
    def zero(cls) -> ColumnProfile:
        return cls()

    @property
    def numeric_count(self) -> int:
        return 0 if self.kll is None else int(self.kll.n)

    @property
    def categorical_count(self) -> int:
        return 0 if self.freq is None else int(self.freq.total_weight)

    @property
    def is_numeric(self) -> bool:
        """True when most present values were numbers."""
        return self.numeric_count >= max(self.categorical_count, 1)

    def update(self, values: Any) -> None:
        """Fold a batch of values (numpy array, pandas Series or list; None/NaN = missing)."""
        if isinstance(values, pd.Series) and _is_text(values):
            self.count += int(values.size)  # string / arrow / categorical dtypes
            self._update_categories(values)
            return
        arr = np.asarray(values)
        self.count += int(arr.size)
        if arr.size == 0:
            return
        if arr.dtype.kind in "iuf":
            self._update_numbers(arr.astype(np.float64, copy=False))
            return
        kind = pd.api.types.infer_dtype(arr, skipna=True) if arr.dtype.kind == "O" else ""
        if kind in NUMERIC_KINDS:
            self._update_numbers(np.asarray(arr, dtype=np.float64))
        elif kind == "string":
            self._update_strings(arr)
        else:
            self._update_categories(pd.Series(arr, dtype=object))

    def _update_numbers(self, arr: np.ndarray) -> None:
        nan = np.isnan(arr)
        n_missing = int(nan.sum())
        self.missing += n_missing
        if n_missing < arr.size:
            if self.kll is None:
                self.kll = _kll()
            # nanobind takes only writeable, contiguous arrays (pandas hands out read-only ones)
            self.kll.update(np.require(arr[~nan] if n_missing else arr, requirements="CW"))

    def _update_strings(self, arr: np.ndarray) -> None:
        """An object array of text and missing values: counted without a pandas detour."""
        missing = pd.isna(arr)
        n_missing = int(missing.sum())
        self.missing += n_missing
        present = arr[~missing] if n_missing else arr
        if present.size:
            self.update_counts(Counter(present.tolist()).items())

    def _update_categories(self, series: pd.Series) -> None:
        present = series.dropna()
        self.missing += int(series.size - present.size)
        if present.empty:
            return
        if not isinstance(present.dtype, pd.StringDtype):
            present = present.astype(str)
        counts = present.value_counts(sort=False)
        self.update_counts(zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True))

    def update_counts(self, items: Iterable[tuple[str, int]]) -> None:
        """Fold pre-aggregated (category, count) pairs; HLL sees each category once."""
        if self.freq is None:
            self.freq = _freq()
        if self.hll is None:
            self.hll = _hll()
        for item, n in items:
            self.freq.update(item, int(n))
            self.hll.update(item)

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """A new profile equal to profiling both inputs' data together."""
        out = ColumnProfile(count=self.count + other.count, missing=self.missing + other.missing)
        out.kll = _merge_kll(self.kll, other.kll)
        out.freq = _merge_freq(self.freq, other.freq)
        out.hll = _merge_hll(self.hll, other.hll)
        return out

    def categories(self) -> dict[str, int]:
        """{category: count} (exact below the map size, lower bounds above it)."""
        if self.freq is None:
            return {}
        return {item: int(lb) for item, _, lb, _ in self.freq.get_frequent_items(_NO_FP, 0)}

    def distinct(self) -> float:
        return 0.0 if self.hll is None else float(self.hll.get_estimate())

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "missing": self.missing,
            "kll": _b64(self.kll.serialize()) if self.kll is not None else None,
            "freq": _b64(self.freq.serialize()) if self.freq is not None else None,
            "hll": _b64(self.hll.serialize_compact()) if self.hll is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        def load(key: str, kind: Any) -> Any:
            raw = data.get(key)
            return None if raw is None else kind.deserialize(base64.b64decode(raw))

        return cls(count=int(data["count"]), missing=int(data["missing"]),
                   kll=load("kll", ds.kll_doubles_sketch),
                   freq=load("freq", ds.frequent_strings_sketch), hll=load("hll", ds.hll_sketch))


# pandas' infer_dtype answers for object arrays holding only numbers and missing values
NUMERIC_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "decimal", "empty"})


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _merge_kll(a: Any, b: Any) -> Any:
    if a is None and b is None:
        return None
    out = _kll()
    for part in (a, b):
        if part is not None:
            out.merge(part)
    return out


def _merge_freq(a: Any, b: Any) -> Any:
    if a is None and b is None:
        return None
    out = _freq()
    for part in (a, b):
        if part is not None:
            out.merge(part)
    return out


def _merge_hll(a: Any, b: Any) -> Any:
    if a is None and b is None:
        return None
    union = ds.hll_union(HLL_LG_K)
    for part in (a, b):
        if part is not None:
            union.update(part)
    return union.get_result()


@dataclass
class DatasetProfile:
    """Column profiles of a data set (a window's features, outputs, or a reference file)."""

    rows: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    @classmethod
    def zero(cls) -> DatasetProfile:
        return cls()

    @classmethod
    def of(cls, frame: Any) -> DatasetProfile:
        """Profile a pandas DataFrame, an Arrow table or a {column: values} mapping."""
        profile = cls()
        profile.update(frame)
        return profile

    def update(self, frame: Any) -> None:
        """Fold a columnar batch; columns absent from the batch count as missing."""
        columns = _columns_of(frame)
        n = len(next(iter(columns.values()))) if columns else 0
        self.rows += n
        for name, values in columns.items():
            self.columns.setdefault(name, ColumnProfile())
            if self.rows - n > self.columns[name].count:  # column first seen in this batch
                gap = self.rows - n - self.columns[name].count
                self.columns[name].count += gap
                self.columns[name].missing += gap
            self.columns[name].update(values)
        for name, col in self.columns.items():
            if name not in columns:
                col.count += n
                col.missing += n

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """A new profile equal to profiling both data sets together."""
        out = DatasetProfile(rows=self.rows + other.rows)
        for name in {**self.columns, **other.columns}:
            a = self.columns.get(name) or _all_missing(self.rows)
            b = other.columns.get(name) or _all_missing(other.rows)
            out.columns[name] = a.merge(b)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": {k: v.to_dict() for k, v in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetProfile:
        return cls(rows=int(data["rows"]),
                   columns={k: ColumnProfile.from_dict(v) for k, v in data["columns"].items()})

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> DatasetProfile:
        return cls.from_dict(orjson.loads(raw))


def _all_missing(rows: int) -> ColumnProfile:
    return ColumnProfile(count=rows, missing=rows)


def _column_values(series: pd.Series) -> Any:
    """Numbers as numpy arrays; text stays a Series (its own value_counts is fastest)."""
    return series if _is_text(series) else series.to_numpy()


def _is_text(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.StringDtype | pd.CategoricalDtype)


def _columns_of(frame: Any) -> dict[str, Any]:
    if isinstance(frame, pd.DataFrame):
        return {str(c): _column_values(frame[c]) for c in frame.columns}
    if hasattr(frame, "column_names") and hasattr(frame, "column"):  # pyarrow.Table
        return {str(c): frame.column(c).to_numpy(zero_copy_only=False)
                for c in frame.column_names}
    if isinstance(frame, Mapping):
        return {str(k): v for k, v in frame.items()}
    raise TypeError(f"cannot profile a {type(frame).__name__}; give a DataFrame, "
                    "an Arrow table or a mapping of columns")
