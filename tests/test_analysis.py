"""Tests for harness/analysis.py: hand-computed profiles and effects on tiny data, the label
rule, Holm, degenerate inputs, and simulation checks of the statistics (bootstrap coverage,
the permutation test's false-positive rate and power, agreement with exact enumeration)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import fields

import numpy as np
import pytest

from harness.rundir.records import KeyEntry
from harness.stats.effects import (
    STATUS_MISSING,
    STATUS_NULL,
    STATUS_SCORED,
    STATUS_UNSCORED,
    Design,
    ScoreMatrix,
    ScoreMatrixBuilder,
    compute_effects,
    compute_profiles,
    index_key,
    label_effect,
    mean_of_coders,
    natural_dimension_order,
)
from harness.stats.interaction import holm_adjust, interaction_tests


def full_design(
    models: Sequence[str], scaffolds: Sequence[str], n_prompts: int, replicates: int
) -> Design:
    """A crossed design; item row = ((m * S + s) * P + p) * R + r."""
    entries = [
        KeyEntry(
            blind_id=f"{m}|{s}|{p}|{r}",
            cell_id=f"{m}|{s}|{p}|{r}",
            model=m,
            scaffold=s,
            prompt_id=f"p{p:03d}",
            replicate=r,
        )
        for m in models
        for s in scaffolds
        for p in range(n_prompts)
        for r in range(replicates)
    ]
    return index_key(entries, model_order=models, scaffold_order=scaffolds)


def matrix(
    values: Sequence[float | None] | np.ndarray, dims: tuple[str, ...] = ("D1",)
) -> ScoreMatrix:
    array = np.array([np.nan if v is None else v for v in values], dtype=float).reshape(
        -1, len(dims)
    )
    status = np.where(np.isnan(array), STATUS_NULL, STATUS_SCORED).astype(np.int8)
    return ScoreMatrix(dimensions=dims, values=array, status=status)


def no_nan_fields(rows: Sequence[object]) -> None:
    for row in rows:
        for f in fields(row):  # type: ignore[arg-type]
            value = getattr(row, f.name)
            if isinstance(value, float):
                assert math.isfinite(value), (row, f.name)


# --------------------------------------------------------------------------- the join


def test_index_key_orders_and_dedupes() -> None:
    entries = [
        KeyEntry(
            blind_id="a", cell_id="c1", model="m2", scaffold="verify", prompt_id="x", replicate=0
        ),
        KeyEntry(
            blind_id="b", cell_id="c2", model="m1", scaffold="bare", prompt_id="y", replicate=1
        ),
        KeyEntry(
            blind_id="a", cell_id="c1", model="m2", scaffold="verify", prompt_id="x", replicate=0
        ),
        KeyEntry(
            blind_id="c", cell_id="c3", model="m1", scaffold="bare", prompt_id="y", replicate=1
        ),
    ]
    design = index_key(entries, scaffold_order=["bare"])
    assert design.n_items == 3
    assert design.models == ("m1", "m2")
    assert design.scaffolds == ("bare", "verify")
    assert design.prompts == ("x", "y")
    assert design.replicates == (0, 1)
    assert design.duplicate_cells == 1
    assert design.model[design.row_of["a"]] == 1


def test_builder_counts_what_it_cannot_place_and_orders_dimensions() -> None:
    design = full_design(["m"], ["bare"], 2, 1)
    builder = ScoreMatrixBuilder(design)
    builder.add("m|bare|0|0", "D10", "scored", 2)
    builder.add("m|bare|0|0", "D2", "null", None)
    builder.add("m|bare|1|0", "D2", "scored", 1)
    builder.add("m|bare|1|0", "D2", "scored", 0)  # repeated: last wins
    builder.add("nobody", "D2", "scored", 1)
    built = builder.build()
    assert built.dimensions == ("D2", "D10")
    assert builder.repeated == 1 and builder.unknown_items == 1
    assert np.isnan(built.values[0, 0]) and built.status[0, 0] == STATUS_NULL
    assert built.values[1, 0] == 0.0
    assert built.status[1, 1] == STATUS_MISSING

    fixed = ScoreMatrixBuilder(design, ["D1"])
    fixed.add("m|bare|0|0", "D9", "scored", 1)
    assert fixed.unknown_dimensions == {"D9"}
    assert fixed.build().dimensions == ("D1",)


def test_natural_dimension_order() -> None:
    assert natural_dimension_order(["D10", "D2", "D1"]) == ("D1", "D2", "D10")


def test_mean_of_coders_skips_missing_levels_and_keeps_the_best_status() -> None:
    a = ScoreMatrix(
        dimensions=("D1",),
        values=np.array([[2.0], [np.nan], [np.nan], [np.nan]]),
        status=np.array(
            [[STATUS_SCORED], [STATUS_NULL], [STATUS_UNSCORED], [STATUS_MISSING]], dtype=np.int8
        ),
    )
    b = ScoreMatrix(
        dimensions=("D1", "D2"),
        values=np.array([[1.0, 0.0], [1.0, 0.0], [np.nan, 0.0], [np.nan, 0.0]]),
        status=np.array([[0, 0], [0, 0], [STATUS_MISSING, 0], [STATUS_MISSING, 0]], dtype=np.int8),
    )
    mean = mean_of_coders([a, b])
    assert mean.dimensions == ("D1", "D2")
    assert mean.values[0, 0] == 1.5 and mean.values[1, 0] == 1.0
    assert np.isnan(mean.values[2, 0])
    assert list(mean.status[:, 0]) == [
        STATUS_SCORED,
        STATUS_SCORED,
        STATUS_UNSCORED,
        STATUS_MISSING,
    ]


# --------------------------------------------------------------------------- profiles


def test_profile_hand_computed() -> None:
    # One model, one scaffold, 2 prompts x 2 replicates: prompt 0 -> 0 and 1 (mean 0.5),
    # prompt 1 -> 2 and 1 (mean 1.5). Overall mean 1.0; a prompt-resampling bootstrap can
    # only produce 0.5, 1.0 and 1.5, with the ends at probability 1/4 each, so the 2.5% and
    # 97.5% percentiles are 0.5 and 1.5.
    design = full_design(["m"], ["bare"], 2, 2)
    (row,) = compute_profiles(design, matrix([0, 1, 2, 1]), n_boot=400, seed=1)
    assert (row.n, row.count_0, row.count_1, row.count_2, row.count_null) == (4, 1, 2, 1, 0)
    assert row.n_prompts == 2
    assert row.mean == pytest.approx(1.0)
    assert row.ci_low == pytest.approx(0.5)
    assert row.ci_high == pytest.approx(1.5)
    assert "only 2 prompts" in row.note


def test_profile_pools_items_not_prompt_means() -> None:
    # prompt 0: 2 and 2; prompt 1: 0 and null -> mean (2 + 2 + 0) / 3, not (2 + 0) / 2.
    design = full_design(["m"], ["bare"], 2, 2)
    (row,) = compute_profiles(design, matrix([2, 2, 0, None]), n_boot=50)
    assert row.mean == pytest.approx(4 / 3)
    assert (row.n, row.count_null) == (3, 1)


def test_profile_degenerate_cases_are_notes_not_nans() -> None:
    design = full_design(["m"], ["bare"], 3, 1)
    null_dim = compute_profiles(design, matrix([None, None, None]), n_boot=20)[0]
    assert null_dim.mean is None and null_dim.ci_low is None
    assert "all null" in null_dim.note and null_dim.count_null == 3
    equal = compute_profiles(design, matrix([2, 2, 2]), n_boot=20)[0]
    assert (equal.mean, equal.ci_low, equal.ci_high) == (2.0, 2.0, 2.0)
    assert "zero width" in equal.note
    one_prompt = compute_profiles(full_design(["m"], ["bare"], 1, 3), matrix([0, 1, 2]))[0]
    assert one_prompt.mean == 1.0 and one_prompt.ci_low is None
    assert "fewer than 2 prompts" in one_prompt.note
    no_nan_fields([null_dim, equal, one_prompt])


# --------------------------------------------------------------------------- effects


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


def test_one_scaffold_has_no_effects_and_one_model_no_interaction() -> None:
    single = full_design(["m"], ["bare"], 3, 1)
    assert compute_effects(single, matrix([0, 1, 2]), baseline="bare") == []
    assert interaction_tests(single, matrix([0, 1, 2]), baseline="bare") == []
    one_model = full_design(["m"], ["bare", "verify"], 3, 1)
    (row,) = interaction_tests(one_model, matrix([0, 1, 2, 1, 1, 1]), baseline="bare")
    assert row.p_value is None and row.statistic is None and "single model" in row.note
    no_nan_fields([row])


def test_holm_hand_computed() -> None:
    assert holm_adjust([0.01, 0.04, 0.03, None]) == [
        pytest.approx(0.03),
        pytest.approx(0.06),
        pytest.approx(0.06),
        None,
    ]
    assert holm_adjust([0.5, 0.9]) == [pytest.approx(1.0), pytest.approx(1.0)]


# --------------------------------------------------------------------------- simulation checks

# Level probabilities (0, 1, 2) per prompt type (easy, hard); prompts are easy or hard with
# probability 1/2, which makes replicates of a prompt correlated.
BASE = np.array([[0.1, 0.4, 0.5], [0.5, 0.3, 0.2]])
TREATED = np.array([[0.05, 0.3, 0.65], [0.3, 0.4, 0.3]])


def expected_level(probs: np.ndarray) -> np.ndarray:
    levels: np.ndarray = probs @ np.array([0.0, 1.0, 2.0])
    return levels


def draw_levels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One level per row of ``probs`` (rows: items)."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(size=(probs.shape[0],))
    levels: np.ndarray = (u[:, None] > cumulative[:, :2]).sum(axis=1).astype(float)
    return levels


def test_bootstrap_cis_cover_the_truth_about_95_percent() -> None:
    n_prompts, replicates, reps = 30, 3, 200
    design = full_design(["m"], ["bare", "verify"], n_prompts, replicates)
    true_effect = float(np.mean(expected_level(TREATED) - expected_level(BASE)))
    true_profile = float(np.mean(expected_level(BASE)))
    rng = np.random.default_rng(20261127)
    covered_effect = covered_profile = 0
    for rep in range(reps):
        prompt_type = rng.integers(0, 2, size=n_prompts)
        item_type = prompt_type[design.prompt]
        probs = np.where((design.scaffold == 0)[:, None], BASE[item_type], TREATED[item_type])
        scores = matrix(draw_levels(probs, rng))
        effect = compute_effects(design, scores, baseline="bare", n_boot=1000, seed=rep)[0]
        profile = compute_profiles(design, scores, n_boot=1000, seed=rep)[0]
        assert effect.ci_low is not None and effect.ci_high is not None
        assert profile.ci_low is not None and profile.ci_high is not None
        covered_effect += effect.ci_low <= true_effect <= effect.ci_high
        covered_profile += profile.ci_low <= true_profile <= profile.ci_high
    assert 0.90 <= covered_effect / reps <= 0.99
    assert 0.90 <= covered_profile / reps <= 0.99


# Three models with different baselines but the same scaffold effect (+0.2 in expectation on
# both prompt types): a common main effect and no interaction.
NULL_WORLD = {
    "A": (
        np.array([[0.1, 0.4, 0.5], [0.5, 0.3, 0.2]]),
        np.array([[0.05, 0.3, 0.65], [0.4, 0.3, 0.3]]),
    ),
    "B": (
        np.array([[0.3, 0.4, 0.3], [0.6, 0.3, 0.1]]),
        np.array([[0.2, 0.4, 0.4], [0.5, 0.3, 0.2]]),
    ),
    "C": (
        np.array([[0.2, 0.2, 0.6], [0.4, 0.4, 0.2]]),
        np.array([[0.1, 0.2, 0.7], [0.3, 0.4, 0.3]]),
    ),
}


def simulate_world(
    world: dict[str, tuple[np.ndarray, np.ndarray]], design: Design, rng: np.random.Generator
) -> ScoreMatrix:
    prompt_type = rng.integers(0, 2, size=len(design.prompts))[design.prompt]
    probs = np.empty((design.n_items, 3))
    for m, model in enumerate(design.models):
        base, treated = world[model]
        for s in range(len(design.scaffolds)):
            rows = (design.model == m) & (design.scaffold == s)
            probs[rows] = (base if s == 0 else treated)[prompt_type[rows]]
    return matrix(draw_levels(probs, rng))


def test_null_world_really_has_a_common_effect() -> None:
    effects = {m: expected_level(t) - expected_level(b) for m, (b, t) in NULL_WORLD.items()}
    for value in effects.values():
        assert value == pytest.approx([0.2, 0.2])


def test_permutation_false_positive_rate_is_near_nominal() -> None:
    design = full_design(["A", "B", "C"], ["bare", "verify"], 20, 2)
    rng = np.random.default_rng(7)
    datasets = 200
    rejections = 0
    for i in range(datasets):
        (row,) = interaction_tests(
            design, simulate_world(NULL_WORLD, design, rng), baseline="bare", n_perm=199, seed=i
        )
        assert row.p_value is not None
        rejections += row.p_value <= 0.05
    # Binomial(200, 0.05): mean 10, sd ~3.1.
    assert 1 <= rejections <= 20, rejections


def test_permutation_test_detects_a_real_interaction() -> None:
    world = {
        "A": (NULL_WORLD["A"][0], np.array([[0.0, 0.1, 0.9], [0.1, 0.3, 0.6]])),
        "B": (NULL_WORLD["B"][0], NULL_WORLD["B"][0]),
        "C": (NULL_WORLD["C"][0], np.array([[0.4, 0.3, 0.3], [0.6, 0.3, 0.1]])),
    }
    design = full_design(["A", "B", "C"], ["bare", "verify"], 20, 2)
    rng = np.random.default_rng(11)
    detected = 0
    for i in range(20):
        (row,) = interaction_tests(
            design, simulate_world(world, design, rng), baseline="bare", n_perm=199, seed=i
        )
        detected += row.p_value is not None and row.p_value <= 0.05
        assert row.model_max == "A"
    assert detected >= 18


def test_permutation_p_value_matches_exact_enumeration() -> None:
    # Two models, four prompts, one replicate: swapping or not the two models' blocks on each
    # prompt gives 2^4 equally likely arrangements; the exact p-value counts those at least as
    # extreme as the observed one.
    design = full_design(["A", "B"], ["bare", "verify"], 4, 1)
    # Row order: A bare p0..p3, A verify p0..p3, B bare p0..p3, B verify p0..p3.
    values = [0, 1, 1, 0, 2, 1, 2, 1, 1, 1, 0, 2, 1, 2, 0, 1]
    diff_a = np.array(values[4:8]) - np.array(values[0:4])
    diff_b = np.array(values[12:16]) - np.array(values[8:12])

    def statistic(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.var([a.mean(), b.mean()]))

    observed = statistic(diff_a, diff_b)
    extreme = 0
    for swaps in itertools.product([False, True], repeat=4):
        mask = np.array(swaps)
        a = np.where(mask, diff_b, diff_a)
        b = np.where(mask, diff_a, diff_b)
        extreme += statistic(a, b) >= observed - 1e-12
    exact = extreme / 16
    (row,) = interaction_tests(design, matrix(values), baseline="bare", n_perm=6000, seed=5)
    assert row.statistic == pytest.approx(observed)
    assert row.p_value == pytest.approx(exact, abs=0.025)
