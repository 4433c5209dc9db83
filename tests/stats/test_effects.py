"""Tests for harness/stats/effects.py: the label rule in its order, a hand-computed effect with a
missing pair, labels on data (ceiling, reached ceiling, improved, worsened, unchanged within the
margin, inconclusive after the adjustment, and Holm against Benjamini-Hochberg), and a run with
one scaffold (no effect to estimate)."""

from __future__ import annotations

import pytest

from harness.stats.effects import EffectRow, compute_effects, label_effect
from tests.stats.designs import full_design, matrix, no_nan_fields


@pytest.mark.parametrize(
    ("low", "high", "p", "at_max", "scaffold_at_max", "expected"),
    [
        (None, None, None, True, True, "ceiling"),
        (0.0, 0.0, 1.0, True, True, "ceiling"),
        (0.5, 1.5, 0.001, False, True, "reached ceiling"),
        (-0.1, 0.6, 0.4, False, True, "reached ceiling"),
        (None, None, None, False, True, "reached ceiling"),
        (0.1, 0.5, 0.01, False, False, "improved"),
        (-0.5, -0.1, 0.01, False, False, "worsened"),
        (0.1, 0.5, 0.06, False, False, "inconclusive"),  # excludes 0, adjusted p does not
        (0.1, 0.2, 0.06, False, False, "unchanged"),  # excludes 0 but inside the margin
        (0.05, 0.2, 0.01, False, False, "improved"),  # significant wins over the margin
        (-0.25, 0.25, 1.0, False, False, "unchanged"),
        (-0.2, 0.3, 1.0, False, False, "inconclusive"),
        (0.0, 0.0, 1.0, False, False, "unchanged"),
        (None, None, None, False, False, ""),
    ],
)
def test_label_rule(
    low: float | None,
    high: float | None,
    p: float | None,
    at_max: bool,
    scaffold_at_max: bool,
    expected: str,
) -> None:
    label = label_effect(
        ci_low=low,
        ci_high=high,
        p_adjusted=p,
        all_at_max=at_max,
        scaffold_at_max=scaffold_at_max,
        equivalence_margin=0.25,
    )
    assert label == expected


def test_effect_hand_computed_with_a_missing_pair() -> None:
    # 1 model, bare/verify, 3 prompts x 1 replicate. Item order: bare p0 p1 p2, verify p0 p1 p2.
    # Pairs: p0 (0 -> 2), p1 (1 -> 1); p2 is null under verify: a missing pair, not dropped.
    design = full_design(["m"], ["bare", "verify"], 3, 1)
    (row,) = compute_effects(design, matrix([0, 1, 2, 2, 1, None]), baseline="bare")
    assert (row.n_pairs, row.n_prompts) == (2, 2)
    assert (row.n_pairs_missing, row.missing_in_scaffold, row.missing_in_baseline) == (1, 1, 0)
    assert row.missing_null == 1
    assert row.effect == pytest.approx(1.0)
    assert (row.baseline_mean, row.scaffold_mean) == (pytest.approx(0.5), pytest.approx(1.5))
    # Prompt differences 2 and 0: se = sd / sqrt(2) = 1, t(0.975; 1) = 12.71: cut to [-2, 2].
    assert (row.ci_low, row.ci_high) == (-2.0, 2.0)
    # Sign flips of (2, 0, 0): every pattern has |sum| 2, so p = 1.
    assert row.p_value == pytest.approx(1.0) and row.p_adjusted == pytest.approx(1.0)
    assert row.label == "inconclusive" and row.same_distribution is False
    assert "n_pairs_missing" in row.note and "only 2 prompts" in row.note
    assert "cannot fall below 0.5000" in row.note
    no_nan_fields([row])


def effect(
    bare: list[float | None], verify: list[float | None], equivalence_margin: float = 0.25
) -> EffectRow:
    """The one effect of verify vs bare, one prompt per value, one replicate."""
    design = full_design(["m"], ["bare", "verify"], len(bare), 1)
    (row,) = compute_effects(
        design,
        matrix([*bare, *verify]),
        baseline="bare",
        equivalence_margin=equivalence_margin,
    )
    return row


def test_ceiling_and_reached_ceiling() -> None:
    ceiling = effect([2] * 4, [2] * 4)
    assert ceiling.label == "ceiling" and ceiling.effect == 0.0
    reached = effect([0, 1, 2, 1, 0, 1, 1, 2], [2] * 8)
    assert reached.label == "reached ceiling"
    assert reached.effect == pytest.approx(1.0)
    assert reached.ci_low is not None and reached.ci_low > 0
    assert reached.p_adjusted is not None and reached.p_adjusted < 0.05


def test_improved_and_worsened_need_the_adjusted_p_value() -> None:
    # Differences 1 on seven prompts and 0 on one: |sum| 7 only for the pattern, its mirror and
    # the zero prompt's two signs: p = 4 / 256.
    improved = effect([0, 0, 1, 0, 1, 0, 0, 1], [1, 1, 2, 1, 2, 1, 1, 1])
    assert improved.p_value == pytest.approx(4 / 256)
    assert improved.label == "improved"
    worsened = effect([1, 1, 2, 1, 2, 1, 1, 1], [0, 0, 1, 0, 1, 0, 0, 1])
    assert worsened.label == "worsened" and worsened.ci_high is not None and worsened.ci_high < 0
    # Five prompts all +1: zero-width interval at 1, but p >= 2/32 whatever the data.
    few = effect([0] * 5, [1] * 5)
    assert (few.ci_low, few.ci_high, few.p_value) == (1.0, 1.0, pytest.approx(0.0625))
    assert few.label == "inconclusive"
    assert "excludes 0 but the Holm-adjusted p-value" in few.note
    assert "cannot fall below 0.0625" in few.note


def test_unchanged_needs_the_interval_inside_the_margin() -> None:
    # Sixteen prompts, one +1: mean 0.0625, se 0.0625, t(15) = 2.131: [-0.071, 0.196].
    bare = [1.0] * 16
    verify: list[float | None] = [2.0] + [1.0] * 15
    row = effect(bare, verify)
    assert row.ci_low == pytest.approx(0.0625 - 2.13145 * 0.0625, abs=1e-4)
    assert row.label == "unchanged" and row.equivalence_margin == 0.25
    narrow = effect(bare, verify, equivalence_margin=0.1)
    assert narrow.label == "inconclusive" and narrow.equivalence_margin == 0.1
    # Eight prompts, one +1: [-0.17, 0.42] reaches past 0.25.
    assert effect([1.0] * 8, [2.0] + [1.0] * 7).label == "inconclusive"


def test_holm_and_benjamini_hochberg_over_the_table() -> None:
    # Two dimensions, six prompts, +1 everywhere on both: raw p = 2/64 each. Holm over 2 tests
    # gives 0.0625 (not improved); BH gives 0.03125 (improved).
    design = full_design(["m"], ["bare", "verify"], 6, 1)
    scores = matrix([0, 0] * 6 + [1, 1] * 6, dims=("D1", "D2"))
    holm = compute_effects(design, scores, baseline="bare")
    bh = compute_effects(design, scores, baseline="bare", adjust="bh")
    assert [r.p_value for r in holm] == [pytest.approx(2 / 64)] * 2
    assert [r.p_adjusted for r in holm] == [pytest.approx(0.0625)] * 2
    assert [r.label for r in holm] == ["inconclusive"] * 2
    assert [r.p_adjusted for r in bh] == [pytest.approx(2 / 64)] * 2
    assert [r.label for r in bh] == ["improved"] * 2 and {r.adjust for r in bh} == {"bh"}


def test_not_estimable_and_one_scaffold() -> None:
    none = effect([None] * 4, [1] * 4)
    assert none.effect is None and none.label == "" and "not estimable" in none.note
    assert (none.n_pairs_missing, none.missing_in_baseline, none.missing_null) == (4, 4, 4)
    assert none.p_value is None and none.p_adjusted is None
    one_prompt = effect([0], [1])
    assert one_prompt.ci_low is None and one_prompt.label == "" and one_prompt.p_value is None
    no_nan_fields([none, one_prompt])
    single = full_design(["m"], ["bare"], 3, 1)
    assert compute_effects(single, matrix([0, 1, 2]), baseline="bare") == []
