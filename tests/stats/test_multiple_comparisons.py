"""Tests for harness/stats/multiple_comparisons.py: Holm and Benjamini-Hochberg on
hand-computed values, None as no test, and the orderings the two methods must keep."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.multiple_comparisons import adjust_p_values, holm_adjust


def test_holm_hand_computed() -> None:
    # Sorted 0.01, 0.03, 0.04 of m = 3: 3 x 0.01, 2 x 0.03, then max(0.06, 1 x 0.04).
    assert holm_adjust([0.01, 0.04, 0.03, None]) == [
        pytest.approx(0.03),
        pytest.approx(0.06),
        pytest.approx(0.06),
        None,
    ]
    assert holm_adjust([0.5, 0.9]) == [pytest.approx(1.0), pytest.approx(1.0)]
    assert adjust_p_values([0.01, 0.04, 0.03, None], "holm") == holm_adjust(
        [0.01, 0.04, 0.03, None]
    )


def test_benjamini_hochberg_hand_computed() -> None:
    # Sorted 0.01, 0.03, 0.04, 0.20 of m = 4: p x 4 / rank = 0.04, 0.06, 0.0533, 0.20; then the
    # running minimum from the top: 0.20, 0.0533, 0.0533, 0.04.
    adjusted = adjust_p_values([0.01, None, 0.04, 0.03, 0.20], "bh")
    assert adjusted == [
        pytest.approx(0.04),
        None,
        pytest.approx(0.16 / 3),
        pytest.approx(0.16 / 3),
        pytest.approx(0.20),
    ]


def test_no_p_values_means_no_tests() -> None:
    assert adjust_p_values([None, None], "bh") == [None, None]
    assert adjust_p_values([], "holm") == []


def test_adjustments_never_lower_a_p_value_and_holm_is_the_stricter() -> None:
    raw = np.random.default_rng(3).random(40) ** 3
    holm = np.array(adjust_p_values(list(raw), "holm"), dtype=float)
    bh = np.array(adjust_p_values(list(raw), "bh"), dtype=float)
    assert (bh >= raw - 1e-15).all() and (holm >= bh - 1e-15).all()
    assert (holm <= 1).all() and (bh <= 1).all()
    # Both keep the order of the raw p-values.
    order = np.argsort(raw)
    assert (np.diff(holm[order]) >= -1e-15).all() and (np.diff(bh[order]) >= -1e-15).all()
