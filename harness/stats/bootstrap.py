"""The cluster bootstrap every confidence interval of the report uses, and the rules that turn
its output into reportable bounds.

Items are clustered in prompts (replicates nested in prompts), so an interval is a percentile
interval from a bootstrap that resamples prompts with replacement. It works on per-prompt sums
and counts (a ratio estimator), never on raw rows, which keeps it fast at 10^5 transcripts.
This module owns the resampling, the percentiles, and the caveats an interval carries; it knows
nothing of models, scaffolds or rubric dimensions (``profiles.py`` and ``effects.py`` arrange
those into the per-prompt totals and read the intervals back).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["WEIGHT_BLOCK_CELLS", "bootstrap_ratio", "ci_caveats", "finite_or_none", "percentile_ci"]

FloatArray = npt.NDArray[np.float64]

WEIGHT_BLOCK_CELLS = 2_000_000
"""Memory bound for one block of resampling weights (resamples x prompts, or permutations x
prompts x models in the interaction test)."""


def bootstrap_ratio(
    sums: FloatArray, counts: FloatArray, n_boot: int, rng: np.random.Generator
) -> FloatArray:
    """Cluster-bootstrap replicates of sum/count estimators.

    Args:
        sums, counts: (prompts, estimators) per-prompt totals.
        n_boot: number of resamples.
        rng: seeded generator.

    Returns:
        (n_boot, estimators); NaN where a resample holds no data for an estimator.
    """
    n_prompts = sums.shape[0]
    out = np.full((n_boot, sums.shape[1]), np.nan)
    block = max(1, WEIGHT_BLOCK_CELLS // max(n_prompts, 1))
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        draws = rng.integers(0, n_prompts, size=(size, n_prompts))
        flat = (draws + (np.arange(size) * n_prompts)[:, None]).ravel()
        weights = np.bincount(flat, minlength=size * n_prompts).reshape(size, n_prompts)
        weights_f = weights.astype(np.float64)
        numerator = weights_f @ sums
        denominator = weights_f @ counts
        np.divide(numerator, denominator, out=out[start : start + size], where=denominator > 0)
    return out


def percentile_ci(replicates: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """2.5/97.5 percentiles per column and the fraction of resamples that were empty."""
    valid = ~np.isnan(replicates)
    empty_fraction = 1.0 - valid.mean(axis=0)
    low = np.full(replicates.shape[1], np.nan)
    high = np.full(replicates.shape[1], np.nan)
    usable = valid.any(axis=0)
    if usable.any():
        sub = replicates[:, usable]
        low[usable] = np.nanpercentile(sub, 2.5, axis=0)
        high[usable] = np.nanpercentile(sub, 97.5, axis=0)
    return low, high, empty_fraction


def finite_or_none(value: float) -> float | None:
    """The value, or None where it is NaN or infinite (so no NaN reaches a table)."""
    return float(value) if math.isfinite(value) else None


def ci_caveats(n_prompts: int, empty_fraction: float) -> list[str]:
    """Notes an estimated interval carries: too few prompts, or resamples that held no data.

    Args:
        n_prompts: prompts that contributed data to the estimate.
        empty_fraction: share of resamples with no data (from ``percentile_ci``).
    """
    notes = []
    if n_prompts < 5:
        notes.append(f"only {n_prompts} prompts: the bootstrap CI is likely too narrow")
    if empty_fraction > 0:
        share = "under 1%" if empty_fraction < 0.01 else f"{empty_fraction:.0%}"
        notes.append(f"{share} of bootstrap resamples had no data and were dropped")
    return notes
