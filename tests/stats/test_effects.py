"""Tests for harness/stats/effects.py: the label rule, hand-computed paired effects with nulls,
labels on data, and a run with one scaffold (no effect to estimate)."""

from __future__ import annotations

import pytest

from harness.stats.effects import compute_effects, label_effect
from tests.stats.designs import full_design, matrix, no_nan_fields


@pytest.mark.parametrize(
    ("low", "high", "at_max", "same", "expected"),
    [
        (None, None, True, True, "ceiling"),
        (0.0, 0.0, True, True, "ceiling"),
        (0.1, 0.5, False, False, "improved"),
        (-0.5, -0.1, False, False, "worsened"),
        (-0.2, 0.3, False, True, "unchanged"),
        (-0.2, 0.3, False, False, "inconclusive"),
        (0.0, 0.4, False, False, "inconclusive"),
        (None, None, False, False, ""),
    ],
)
def test_label_rule(
    low: float | None, high: float | None, at_max: bool, same: bool, expected: str
) -> None:
    assert (
        label_effect(ci_low=low, ci_high=high, all_at_max=at_max, same_distribution=same)
        == expected
    )


def test_effect_hand_computed_with_pairs_and_nulls() -> None:
    # 1 model, bare/verify, 3 prompts x 1 replicate. Item order: bare p0 p1 p2, verify p0 p1 p2.
    # Pairs: p0 (0 -> 2), p1 (1 -> 1); p2 has a null under verify, so it is not a pair.
    design = full_design(["m"], ["bare", "verify"], 3, 1)
    (row,) = compute_effects(
        design, matrix([0, 1, 2, 2, 1, None]), baseline="bare", n_boot=400, seed=3
    )
    assert (row.n_pairs, row.n_prompts) == (2, 2)
    assert row.effect == pytest.approx(1.0)
    assert row.baseline_mean == pytest.approx(0.5)
    assert row.scaffold_mean == pytest.approx(1.5)
    # Resampling the 2 prompts: mean difference 2 (p0 twice), 1, or 0 (p1 twice).
    assert row.ci_low == pytest.approx(0.0)
    assert row.ci_high == pytest.approx(2.0)
    assert row.label == "inconclusive" and row.same_distribution is False


def test_effect_labels_on_data() -> None:
    design = full_design(["m"], ["bare", "verify"], 4, 1)
    ceiling = compute_effects(design, matrix([2] * 8), baseline="bare", n_boot=50)[0]
    assert ceiling.label == "ceiling"
    same = compute_effects(design, matrix([0, 1, 2, 1, 1, 2, 0, 1]), baseline="bare", n_boot=200)[0]
    # Same multiset {0, 1, 1, 2} under both scaffolds, effect 0: unchanged.
    assert same.effect == 0.0 and same.label == "unchanged" and same.same_distribution
    better = compute_effects(design, matrix([0, 0, 1, 0, 1, 2, 2, 1]), baseline="bare", n_boot=200)[
        0
    ]
    assert better.label == "improved" and better.ci_low is not None and better.ci_low > 0
    worse = compute_effects(design, matrix([1, 2, 2, 1, 0, 0, 1, 0]), baseline="bare", n_boot=200)[
        0
    ]
    assert worse.label == "worsened"
    none = compute_effects(design, matrix([None] * 4 + [1] * 4), baseline="bare", n_boot=20)[0]
    assert none.effect is None and none.label == "" and "not estimable" in none.note
    no_nan_fields([ceiling, same, better, worse, none])


def test_one_scaffold_has_no_effects() -> None:
    single = full_design(["m"], ["bare"], 3, 1)
    assert compute_effects(single, matrix([0, 1, 2]), baseline="bare") == []
