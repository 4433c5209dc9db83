"""Tests for harness/stats/sign_flip.py: exact p-values against scipy.stats.permutation_test
(paired samples, every sign pattern), random patterns against the exact value, and the floor
of the p-value with few prompts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from harness.stats.sign_flip import sign_flip_p_values, smallest_p_value


def scipy_p_value(totals: np.ndarray) -> float:
    """Two-sided exact p of the sum of paired differences, swapping within pairs."""
    # x - y = totals; permutation_type="samples" swaps x_i and y_i, i.e. flips the sign of
    # totals_i, over all 2^n arrangements when n_resamples is at least that.
    result = stats.permutation_test(
        (totals, np.zeros_like(totals)),
        lambda x, y, axis: np.sum(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf,
        alternative="two-sided",
    )
    return float(result.pvalue)


@pytest.mark.parametrize("n_prompts", [3, 5, 8, 11])
def test_exact_p_values_match_scipy_permutation_test(n_prompts: int) -> None:
    rng = np.random.default_rng(n_prompts)
    # Per-prompt sums of paired level differences over 3 replicates: integers in [-6, 6],
    # shifted so that some columns are far from 0 and some near it.
    totals = rng.integers(-3, 4, size=(n_prompts, 6)).astype(float)
    totals += np.array([0, 0, 1, 1, 2, 3])
    ours = sign_flip_p_values(totals, np.random.default_rng(0))
    for column in range(totals.shape[1]):
        if totals[:, column].sum() == 0:
            continue  # scipy doubles a one-sided p of 1 there; ours is 1 as well
        assert ours[column] == pytest.approx(scipy_p_value(totals[:, column])), column


def test_random_patterns_approximate_the_exact_p_value() -> None:
    totals = np.array([[2.0, 1.0], [1.0, -1.0], [3.0, 0.0], [-1.0, 2.0], [2.0, 1.0],
                       [0.0, -2.0], [1.0, 1.0], [2.0, 0.0], [-2.0, 1.0], [1.0, 1.0]])
    exact = sign_flip_p_values(totals, np.random.default_rng(0))
    sampled = sign_flip_p_values(
        totals, np.random.default_rng(1), n_random=40_000, max_exact_prompts=4
    )
    # Binomial standard error at p ~ 0.1 with 40,000 patterns is 0.0015.
    assert sampled == pytest.approx(exact, abs=0.01)
    assert (sampled > 0).all()


def test_degenerate_columns_and_the_floor_with_few_prompts() -> None:
    totals = np.array([[0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0],
                       [0.0, 0.0, 1.0]])
    p = sign_flip_p_values(totals, np.random.default_rng(0))
    # No difference anywhere: p = 1. One prompt carries everything: both signs are as
    # extreme, p = 1. Five prompts all the same way: only the pattern and its mirror, 2/32.
    assert p == pytest.approx([1.0, 1.0, 2 / 32])
    assert smallest_p_value(5) == pytest.approx(0.0625)
    assert smallest_p_value(6) == pytest.approx(2 / 64) and smallest_p_value(6) < 0.05
    assert smallest_p_value(40, n_random=999) == pytest.approx(1 / 1000)
