"""Tests for harness/stats/bootstrap.py: the percentile step of the agreement bootstrap, by hand,
with empty resamples counted and columns without any resample left NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.stats.bootstrap import percentile_ci


def test_percentiles_and_empty_resamples() -> None:
    # Column 0: 0..100, so the 2.5% and 97.5% percentiles are 2.5 and 97.5 (linear
    # interpolation). Column 1: the same with every other resample empty. Column 2: empty.
    values = np.arange(101, dtype=float)
    half = values.copy()
    half[1::2] = np.nan
    replicates = np.column_stack([values, half, np.full(101, np.nan)])
    low, high, empty = percentile_ci(replicates)
    assert (low[0], high[0]) == (pytest.approx(2.5), pytest.approx(97.5))
    assert (low[1], high[1]) == (pytest.approx(2.5), pytest.approx(97.5))
    assert empty.tolist() == [0.0, pytest.approx(50 / 101), 1.0]
    assert math.isnan(low[2]) and math.isnan(high[2])
