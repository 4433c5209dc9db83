"""The prompt-cluster t interval every profile and effect interval of the report uses, and the
notes an interval carries.

Items are clustered in prompts (replicates nested in prompts, and a prompt is the unit a study
samples), so an estimate's uncertainty is judged from how its per-prompt totals spread. Every
estimate here is a ratio of totals (sum of levels or of paired differences over the number of
items or pairs), so its standard error is the cluster-robust (CR1, delta-method) one,

    se^2 = G / (G - 1) * sum_g (Y_g - R n_g)^2 / (sum_g n_g)^2,

over the G prompts that hold data (Y_g: the prompt's sum, n_g: its count, R: the estimate), and
the interval is R +/- t(0.975; G - 1) * se, cut to the range the estimate can take. With equal
counts this is exactly the one-sample t interval on prompt means (the tests check it against
``scipy.stats.ttest_1samp``). Why not the percentile cluster bootstrap this module replaced: with
G prompts its replicates spread like the sample's own dispersion (a factor sqrt((G - 1) / G) too
narrow) and it uses normal rather than t(G - 1) quantiles, so at G = 5 it is about 0.63 times
the width it needs and covers a true value only 80-85% of the time; the t interval keeps near 95%
at both 5 and 15 prompts (``tests/stats/test_interval_coverage.py`` checks it by simulation,
on profile means and paired effects). Its limit: it assumes roughly normal prompt means, so
with 5 prompts whose levels pile up at one end of the scale (most at 0, or most at 2) a profile
mean's coverage falls to about 0.89-0.91 in the same kind of simulation. Reference: Cameron
and Miller (2015), "A practitioner's guide to cluster-robust inference", J. Human Resources
50(2), section VI (few clusters: CR1 with t(G - 1) critical values).

This module owns that arithmetic and the caveats; it knows nothing of models, scaffolds or
rubric dimensions (``profiles.py`` and ``effects.py`` arrange those into per-prompt totals and
read the intervals back), and tests nothing (``sign_flip.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "CONFIDENCE",
    "ClusterIntervals",
    "cluster_t_intervals",
    "finite_or_none",
    "interval_caveats",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CONFIDENCE = 0.95
"""The coverage every interval of the report aims at."""

# A standard error below this is floating-point residue of equal prompt means: treat it as 0
# so that the "zero width" note and the equivalence rule see an exact zero.
_ZERO_SE = 1e-12


@dataclass(frozen=True)
class ClusterIntervals:
    """Per estimator (column): the estimate, its interval and the prompts behind it.

    Attributes:
        estimate: sum of the totals over sum of the counts; NaN where there is no data.
        low, high: the interval; NaN where fewer than 2 prompts hold data.
        n_clusters: prompts with a count above 0.
        standard_error: the CR1 standard error; NaN where fewer than 2 prompts hold data.
    """

    estimate: FloatArray
    low: FloatArray
    high: FloatArray
    n_clusters: IntArray
    standard_error: FloatArray


def cluster_t_intervals(
    sums: FloatArray,
    counts: FloatArray,
    *,
    bounds: tuple[float, float],
    confidence: float = CONFIDENCE,
) -> ClusterIntervals:
    """Ratio estimates and their cluster-robust t intervals, one per column.

    Args:
        sums, counts: (prompts, estimators) per-prompt totals and item (or pair) counts.
        bounds: the range the estimate can take (e.g. 0 to 2 levels); the interval is cut to
            it, which cannot lower its coverage of a value inside it.
        confidence: the nominal coverage.

    Returns:
        The estimates, intervals, prompt counts and standard errors, NaN where not estimable.
    """
    n_columns = sums.shape[1]
    total = counts.sum(axis=0)
    n_clusters = (counts > 0).sum(axis=0).astype(np.int64)
    estimate = np.full(n_columns, np.nan)
    np.divide(sums.sum(axis=0), total, out=estimate, where=total > 0)
    residual = sums - np.nan_to_num(estimate) * counts
    usable = n_clusters >= 2
    standard_error = np.full(n_columns, np.nan)
    if usable.any():
        g = n_clusters[usable].astype(np.float64)
        variance = g / (g - 1) * (residual[:, usable] ** 2).sum(axis=0) / total[usable] ** 2
        se = np.sqrt(variance)
        se[se < _ZERO_SE] = 0.0
        standard_error[usable] = se
    quantile = np.full(n_columns, np.nan)
    if usable.any():
        quantile[usable] = stats.t.ppf(0.5 + confidence / 2, n_clusters[usable] - 1)
    low = np.clip(estimate - quantile * standard_error, *bounds)
    high = np.clip(estimate + quantile * standard_error, *bounds)
    return ClusterIntervals(
        estimate=estimate,
        low=low,
        high=high,
        n_clusters=n_clusters,
        standard_error=standard_error,
    )


def finite_or_none(value: float) -> float | None:
    """The value, or None where it is NaN or infinite (so no NaN reaches a table)."""
    return float(value) if math.isfinite(value) else None


def interval_caveats(n_prompts: int, standard_error: float) -> list[str]:
    """Notes an estimated interval carries: a zero width, or few prompts.

    Args:
        n_prompts: prompts that contributed data to the estimate (2 or more).
        standard_error: the interval's standard error (0: the per-prompt means are equal).
    """
    notes = []
    if standard_error == 0.0:
        notes.append("the per-prompt means are all equal: the interval has zero width")
    if n_prompts < 5:
        notes.append(
            f"only {n_prompts} prompts: the t interval leans on roughly normal prompt means"
        )
    return notes
