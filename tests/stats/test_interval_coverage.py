"""Simulation check of the report's 95% intervals with few prompts (harness/stats/intervals.py
through compute_profiles and compute_effects): with 5 and with 15 prompts, the profile mean's
and the paired effect's intervals cover the true value between 90% and 99% of the time, while
the percentile cluster bootstrap they replaced does not at 5 prompts (the check can fail).

Each simulated study is one model of a crossed design (bare and verify, 3 replicates): its
prompts are easy or hard with probability 1/2 (so replicates of a prompt are correlated),
levels 0-2 are drawn from the type's distribution, and 10% of the items are null at random
(unequal counts per prompt, and missing pairs). The true values are the expected levels over
prompt types. Many studies are one design with many models, so every interval is computed in
one vectorised call.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.bootstrap import percentile_ci
from harness.stats.effects import compute_effects
from harness.stats.profiles import compute_profiles
from harness.stats.score_matrix import STATUS_NULL, STATUS_SCORED, ScoreMatrix
from tests.stats.designs import BASE, TREATED, crossed_design, draw_levels, expected_level

STUDIES = 500
REPLICATES = 3
TRUE_PROFILE = float(np.mean(expected_level(BASE)))
TRUE_EFFECT = float(np.mean(expected_level(TREATED) - expected_level(BASE)))


def simulate(n_prompts: int, seed: int) -> np.ndarray:
    """Levels shaped (studies, scaffolds, prompts, replicates), NaN where null."""
    rng = np.random.default_rng(seed)
    prompt_type = rng.integers(0, 2, size=(STUDIES, 1, n_prompts, 1))
    shape = (STUDIES, 2, n_prompts, REPLICATES)
    item_type = np.broadcast_to(prompt_type, shape).ravel()
    scaffold = np.broadcast_to(np.arange(2)[None, :, None, None], shape).ravel()
    probs = np.where((scaffold == 0)[:, None], BASE[item_type], TREATED[item_type])
    levels = draw_levels(probs, rng).reshape(shape)
    levels[rng.random(shape) < 0.1] = np.nan
    return levels


def covered(low: list[float | None], high: list[float | None], truth: float) -> float:
    hits = [
        lo is not None and hi is not None and lo <= truth <= hi
        for lo, hi in zip(low, high, strict=True)
    ]
    return float(np.mean(hits))


@pytest.mark.parametrize("n_prompts", [5, 15])
def test_profile_and_effect_intervals_keep_nominal_coverage(n_prompts: int) -> None:
    levels = simulate(n_prompts, seed=20261127 + n_prompts)
    design = crossed_design(STUDIES, ["bare", "verify"], n_prompts, REPLICATES)
    values = levels.reshape(-1, 1)
    status = np.where(np.isnan(values), STATUS_NULL, STATUS_SCORED).astype(np.int8)
    scores = ScoreMatrix(dimensions=("D1",), values=values, status=status)

    profiles = [r for r in compute_profiles(design, scores) if r.scaffold == "bare"]
    effects = compute_effects(design, scores, baseline="bare")
    assert len(profiles) == len(effects) == STUDIES
    profile_coverage = covered([r.ci_low for r in profiles], [r.ci_high for r in profiles],
                               TRUE_PROFILE)
    effect_coverage = covered([r.ci_low for r in effects], [r.ci_high for r in effects],
                              TRUE_EFFECT)
    assert 0.90 <= profile_coverage <= 0.99, profile_coverage
    assert 0.90 <= effect_coverage <= 0.99, effect_coverage
    # The nulls really left pairs out, and the rows count them.
    assert sum(r.n_pairs_missing for r in effects) > 0


def test_the_percentile_bootstrap_undercovers_with_five_prompts() -> None:
    # The method the t interval replaced, on the same kind of data: resample prompts, take the
    # 2.5/97.5 percentiles of the pooled mean. It covers well under 90% with 5 prompts, so the
    # coverage check above can tell a bad interval from a good one.
    levels = simulate(5, seed=99)
    base = levels[:, 0]
    pair_ok = ~np.isnan(levels[:, 0]) & ~np.isnan(levels[:, 1])
    diff = np.where(pair_ok, levels[:, 1] - levels[:, 0], 0.0)
    rng = np.random.default_rng(5)
    draws = rng.integers(0, 5, size=(2000, 5))
    weights = np.zeros((2000, 5))
    np.add.at(weights, (np.arange(2000)[:, None], draws), 1.0)
    for sums, counts, truth in (
        (np.nansum(base, axis=2), (~np.isnan(base)).sum(axis=2), TRUE_PROFILE),
        (diff.sum(axis=2), pair_ok.sum(axis=2), TRUE_EFFECT),
    ):
        with np.errstate(invalid="ignore", divide="ignore"):
            replicates = (weights @ sums.T) / (weights @ counts.T)
        low, high, _ = percentile_ci(replicates)
        coverage = float(np.mean((low <= truth) & (truth <= high)))
        assert coverage < 0.90, coverage
