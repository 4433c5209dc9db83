"""Tests for harness/stats/bootstrap.py by simulation: the cluster-bootstrap intervals of
profiles and effects cover the true value about 95% of the time when replicates of a prompt
are correlated."""

from __future__ import annotations

import numpy as np

from harness.stats.effects import compute_effects
from harness.stats.profiles import compute_profiles
from tests.stats.designs import BASE, TREATED, draw_levels, expected_level, full_design, matrix


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
