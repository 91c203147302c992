"""Columnar views of an event batch, built once per fold and shared by the aggregates.

Events arrive as pydantic objects. Reading one attribute of 20,000 events costs a
millisecond when done in one C-level pass (`map(attrgetter(...))`) and many more when
every aggregate loops over the events itself, so a window wraps each batch in an
`EventBatch`: a list of the events (plugins that iterate keep working) that caches its
columns, its kind counts and its per-kind sub-batches. Aggregates call `EventBatch.of`
and so accept a plain list too.

`feature_columns` turns the `features` dicts of a batch into one NumPy array per column:
float64 where a column holds only numbers and missing values, object otherwise, so the
profile folds it exactly as it would fold the same column of a DataFrame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any, Self

import numpy as np
import pandas as pd

from firebreak.monitor.profile import NUMERIC_KINDS

_TOP = "<top probability>"  # cache key of a derived column


class EventBatch(list[Any]):
    """A list of events with cached columns (see module docstring)."""

    def __init__(self, events: Iterable[Any] = ()) -> None:
        super().__init__(events)
        self._columns: dict[str, list[Any]] = {}
        self._subsets: dict[frozenset[str], EventBatch] = {}
        self._kinds: Counter[str] | None = None

    @classmethod
    def of(cls, events: Sequence[Any]) -> Self:
        return events if isinstance(events, cls) else cls(events)

    def kinds(self) -> Counter[str]:
        """Events per kind."""
        if self._kinds is None:
            self._kinds = Counter(self.column("kind"))
        return self._kinds

    def of_kinds(self, kinds: frozenset[str]) -> EventBatch:
        """The events whose kind is in `kinds` (this batch itself when all are)."""
        found = self._subsets.get(kinds)
        if found is None:
            counts = self.kinds()
            if all(k in kinds for k in counts):
                found = self
            elif not any(k in kinds for k in counts):
                found = EventBatch()
            else:
                found = EventBatch(e for e, k in zip(self, self.column("kind"), strict=True)
                                   if k in kinds)
            self._subsets[kinds] = found
        return found

    def column(self, attr: str) -> list[Any]:
        """`attr` of every event, None where an event's kind has no such field."""
        found = self._columns.get(attr)
        if found is None:
            try:
                found = list(map(attrgetter(attr), self))
            except AttributeError:  # mixed kinds: only some events carry the field
                found = [getattr(e, attr, None) for e in self]
            self._columns[attr] = found
        return found


def top_probabilities(rows: EventBatch) -> list[float | None]:
    """The highest class probability of every event (None where it has none); cached,
    since the output profile and the confidence estimate both read it."""
    found = rows._columns.get(_TOP)
    if found is None:
        found = [max(p.values()) if p else None for p in rows.column("probabilities")]
        rows._columns[_TOP] = found
    return found


def feature_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """{column: values} of a batch of feature dicts, in order of first appearance; a key
    absent from a row is a missing value there."""
    if not rows:
        return {}
    keys = list(rows[0])
    width = len(keys)
    if width and set(map(len, rows)) == {width}:
        try:  # the usual case: every row has the same keys
            getter = itemgetter(*keys)
            cells = list(map(getter, rows))
            columns = [cells] if width == 1 else list(zip(*cells, strict=True))
            return {k: typed_column(c) for k, c in zip(keys, columns, strict=True)}
        except KeyError:
            pass
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: typed_column([r.get(k) for r in rows]) for k in keys}


def typed_column(values: Sequence[Any]) -> np.ndarray:
    """float64 (None -> NaN) for numbers and missing values only, else an object array."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    if pd.api.types.infer_dtype(arr, skipna=True) in NUMERIC_KINDS:
        return arr.astype(np.float64)  # None becomes NaN
    return arr
