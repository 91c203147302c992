"""The optional LSA embedding view shipped in the package (no download)."""

from __future__ import annotations

import numpy as np
import pytest

from firebreak.detect.llm.embed import LSA, load_lsa
from firebreak.detect.llm.text import groundedness

from .helpers import halueval_rows


def test_shipped_model_loads_offline_and_relates_words_by_meaning() -> None:
    lsa = load_lsa()
    assert lsa.unit.shape == (16000, 64)
    cos = lambda a, b: float(lsa.unit[lsa.index[a]] @ lsa.unit[lsa.index[b]])  # noqa: E731
    assert cos("movie", "film") > cos("movie", "tractor") + 0.3
    assert cos("guitar", "music") > cos("guitar", "bread") + 0.2


def test_support_and_blended_score_stay_in_range_on_real_rows() -> None:
    lsa = load_lsa()
    for row in halueval_rows()[:40]:
        s = lsa.support(row["answer"], [row["context"]])
        g = lsa.groundedness(row["answer"], row["context"], row["question"])
        assert 0.0 <= s <= 1.0 + 1e-6 and 0.0 <= g <= 1.0 + 1e-6
        assert abs(g - groundedness(row["answer"], row["context"], row["question"])) <= 0.02 + 1e-6
    assert lsa.support("Qwxzv Plorb", "The river flows to the sea.") == 0.0  # no known word


def test_mismatched_model_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="one row per word"):
        LSA(["a", "b"], np.ones(2, dtype=np.float32), np.ones((3, 4), dtype=np.float16))
