"""Tests for harness/stats/intervals.py: the prompt-cluster t interval against
scipy.stats.ttest_1samp on prompt means (equal counts), by hand with unequal counts, cut to its
bounds, and its degenerate cases (one prompt, no data, equal prompt means)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.stats.intervals import cluster_t_intervals, interval_caveats


def test_equal_counts_give_the_t_interval_on_prompt_means() -> None:
    rng = np.random.default_rng(4)
    for n_prompts in (2, 5, 15):
        counts = np.full((n_prompts, 3), 3.0)
        # Distinct prompt means in every column (scipy warns on identical ones).
        sums = rng.integers(0, 4, size=(n_prompts, 3)) + np.arange(n_prompts)[:, None] % 3
        sums = sums.astype(float)
        got = cluster_t_intervals(sums, counts, bounds=(-100.0, 100.0))
        for column in range(3):
            means = sums[:, column] / 3
            reference = stats.ttest_1samp(means, 0.0).confidence_interval(0.95)
            assert got.estimate[column] == pytest.approx(means.mean())
            assert got.low[column] == pytest.approx(reference.low)
            assert got.high[column] == pytest.approx(reference.high)
            assert got.n_clusters[column] == n_prompts


def test_unequal_counts_hand_computed_and_cut_to_bounds() -> None:
    # Prompt totals 2, 1, 4 over 1, 2, 2 items: R = 7/5 = 1.4; residuals 0.6, -1.8, 1.2;
    # se^2 = 3/2 * (0.36 + 3.24 + 1.44) / 25 = 0.3024; t(0.975; 2) = 4.302653.
    sums = np.array([[2.0], [1.0], [4.0]])
    counts = np.array([[1.0], [2.0], [2.0]])
    half = 4.302653 * math.sqrt(0.3024)
    wide = cluster_t_intervals(sums, counts, bounds=(-10.0, 10.0))
    assert wide.estimate[0] == pytest.approx(1.4)
    assert wide.standard_error[0] == pytest.approx(math.sqrt(0.3024))
    assert (wide.low[0], wide.high[0]) == (pytest.approx(1.4 - half), pytest.approx(1.4 + half))
    cut = cluster_t_intervals(sums, counts, bounds=(0.0, 2.0))
    assert (cut.low[0], cut.high[0]) == (0.0, 2.0)


def test_degenerate_columns() -> None:
    # Columns: one prompt only; no data; equal prompt means (1.0) from unequal counts.
    sums = np.array([[3.0, 0.0, 1.0], [0.0, 0.0, 3.0], [0.0, 0.0, 2.0]])
    counts = np.array([[2.0, 0.0, 1.0], [0.0, 0.0, 3.0], [0.0, 0.0, 2.0]])
    got = cluster_t_intervals(sums, counts, bounds=(0.0, 2.0))
    assert got.estimate[0] == 1.5 and math.isnan(got.low[0]) and math.isnan(got.high[0])
    assert got.n_clusters.tolist() == [1, 0, 3]
    assert math.isnan(got.estimate[1]) and math.isnan(got.standard_error[1])
    assert (got.low[2], got.high[2], got.standard_error[2]) == (1.0, 1.0, 0.0)


def test_caveats() -> None:
    assert interval_caveats(15, 0.2) == []
    assert interval_caveats(15, 0.0) == [
        "the per-prompt means are all equal: the interval has zero width"
    ]
    (note,) = interval_caveats(3, 0.1)
    assert note.startswith("only 3 prompts")
