"""Tests for harness/stats/profiles.py: hand-computed profiles on tiny data (mean, counts and
the prompt-cluster t interval) and degenerate cells as notes, never NaN."""

from __future__ import annotations

import pytest

from harness.stats.profiles import compute_profiles
from tests.stats.designs import full_design, matrix, no_nan_fields


def test_profile_hand_computed() -> None:
    # One model, one scaffold, 2 prompts x 2 replicates: prompt 0 -> 0 and 1 (mean 0.5),
    # prompt 1 -> 2 and 1 (mean 1.5). Overall mean 1.0; se = sd of prompt means / sqrt(2)
    # = 0.5, t(0.975; 1) = 12.71: the interval is cut to the levels' range [0, 2].
    design = full_design(["m"], ["bare"], 2, 2)
    (row,) = compute_profiles(design, matrix([0, 1, 2, 1]))
    assert (row.n, row.count_0, row.count_1, row.count_2, row.count_null) == (4, 1, 2, 1, 0)
    assert row.n_prompts == 2
    assert row.mean == pytest.approx(1.0)
    assert (row.ci_low, row.ci_high) == (0.0, 2.0)
    assert "only 2 prompts" in row.note
    # Five prompts with means 0.5, 1, 1, 1.5, 1.5 (two replicates each): mean 1.1,
    # sd 0.41833, se 0.18708, t(0.975; 4) = 2.77645.
    design = full_design(["m"], ["bare"], 5, 2)
    (row,) = compute_profiles(design, matrix([0, 1, 1, 1, 2, 0, 1, 2, 2, 1]))
    assert row.mean == pytest.approx(1.1)
    assert row.ci_low == pytest.approx(1.1 - 2.77645 * 0.18708, abs=1e-4)
    assert row.ci_high == pytest.approx(1.1 + 2.77645 * 0.18708, abs=1e-4)
    assert row.note == ""


def test_profile_pools_items_not_prompt_means() -> None:
    # prompt 0: 2 and 2; prompt 1: 0 and null -> mean (2 + 2 + 0) / 3, not (2 + 0) / 2.
    design = full_design(["m"], ["bare"], 2, 2)
    (row,) = compute_profiles(design, matrix([2, 2, 0, None]))
    assert row.mean == pytest.approx(4 / 3)
    assert (row.n, row.count_null) == (3, 1)


def test_profile_degenerate_cases_are_notes_not_nans() -> None:
    design = full_design(["m"], ["bare"], 3, 1)
    null_dim = compute_profiles(design, matrix([None, None, None]))[0]
    assert null_dim.mean is None and null_dim.ci_low is None
    assert "all null" in null_dim.note and null_dim.count_null == 3
    equal = compute_profiles(design, matrix([2, 2, 2]))[0]
    assert (equal.mean, equal.ci_low, equal.ci_high) == (2.0, 2.0, 2.0)
    assert "zero width" in equal.note
    one_prompt = compute_profiles(full_design(["m"], ["bare"], 1, 3), matrix([0, 1, 2]))[0]
    assert one_prompt.mean == 1.0 and one_prompt.ci_low is None
    assert "fewer than 2 prompts" in one_prompt.note
    no_nan_fields([null_dim, equal, one_prompt])
