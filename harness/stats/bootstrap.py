"""The percentile step of the bootstrap intervals over items that ``agreement_intervals.py``
computes, and the memory bound every resampling loop of ``harness.stats`` works in.

The report's profile and effect intervals are not bootstrap intervals: with 5 prompts a
percentile bootstrap over prompts covers a true value only 80-85% of the time, so they are
prompt-cluster t intervals (``intervals.py``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["WEIGHT_BLOCK_CELLS", "percentile_ci"]

FloatArray = npt.NDArray[np.float64]

WEIGHT_BLOCK_CELLS = 2_000_000
"""Memory bound for one block of resampling arrays (resamples x items in the agreement
bootstrap, sign patterns x tests in the sign-flip test, permutations x prompts x models in the
interaction test)."""


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

