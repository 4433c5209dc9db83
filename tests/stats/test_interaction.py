"""Tests for harness/stats/interaction.py: the degenerate runs (one scaffold, one
model), and simulation checks of the permutation test (false-positive rate near nominal under a
common effect, power against a real interaction, agreement with exact enumeration)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harness.stats import Design, ScoreMatrix
from harness.stats.interaction import interaction_tests
from tests.stats.designs import draw_levels, expected_level, full_design, matrix, no_nan_fields


def test_one_scaffold_or_one_model_has_no_interaction_test() -> None:
    single = full_design(["m"], ["bare"], 3, 1)
    assert interaction_tests(single, matrix([0, 1, 2]), baseline="bare") == []
    one_model = full_design(["m"], ["bare", "verify"], 3, 1)
    (row,) = interaction_tests(one_model, matrix([0, 1, 2, 1, 1, 1]), baseline="bare")
    assert row.p_value is None and row.statistic is None and "single model" in row.note
    no_nan_fields([row])


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
