"""Bootstrap intervals for the pooled agreement rows, resampling benchmarks, not cells.

A pooled estimate takes every benchmark x dimension cell as an item, but the cells of one
benchmark are coded together, by the same reading of the same paper: resampling cells as if
independent would make the interval too narrow. So a resample draws benchmarks with
replacement (the same draws as ``harness.stats``'s bootstrap over items:
``resample_weights``) and takes all of each drawn benchmark's cells; each statistic is then
computed from the resample's summed confusion (kappa) or coincidence (alpha) counts by
``harness.stats``'s replicate functions, which the stats tests check against scikit-learn and
``krippendorff``. The percentile step and the notes follow ``xstress agree``'s intervals.
The same functions, with four ordered levels and one item per benchmark, give the intervals on
agreement about benchmarks' evidence levels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from harness.rundir import AgreementStatistic
from harness.stats import (
    MIN_ITEMS_FOR_INTERVAL,
    AgreementInterval,
    alpha_replicates,
    kappa_replicates,
    resample_weights,
)

__all__ = ["pooled_alpha_interval", "pooled_pair_intervals"]

FloatArray = npt.NDArray[np.float64]


def pooled_pair_intervals(levels_a: Sequence[int], levels_b: Sequence[int],
                          clusters: Sequence[str], *, n_boot: int, seed: int,
                          n_levels: int = 3) -> dict[AgreementStatistic, AgreementInterval]:
    """Intervals for agreement and both kappas, resampling the cells' clusters (benchmarks).

    Args:
        levels_a, levels_b: the two coders' levels (0 to ``n_levels - 1``), cell by cell.
        clusters: each cell's benchmark.
        n_boot: resamples.
        seed: the generator's seed.
        n_levels: how many ordered levels a code can take.
    """
    names = sorted(set(clusters))
    statistics: tuple[AgreementStatistic, ...] = (
        "percent_agreement", "cohen_kappa", "cohen_kappa_quadratic")
    if len(names) < MIN_ITEMS_FOR_INTERVAL:
        return dict.fromkeys(statistics, _too_few(len(names)))
    index = {name: i for i, name in enumerate(names)}
    counts = np.zeros((len(names), n_levels * n_levels))
    for a, b, cluster in zip(levels_a, levels_b, clusters, strict=True):
        counts[index[cluster], a * n_levels + b] += 1
    confusions = np.concatenate(
        [weights @ counts for weights in resample_weights(len(names), n_boot, seed)]
    ).reshape(n_boot, n_levels, n_levels)
    totals = confusions.sum(axis=(1, 2))
    return {
        "percent_agreement": _interval(np.trace(confusions, axis1=1, axis2=2) / totals),
        "cohen_kappa": _interval(kappa_replicates(confusions, quadratic=False)),
        "cohen_kappa_quadratic": _interval(kappa_replicates(confusions, quadratic=True)),
    }


def pooled_alpha_interval(value_counts: npt.NDArray[np.int64], clusters: Sequence[str], *,
                          n_boot: int, seed: int) -> AgreementInterval:
    """The interval for pooled Krippendorff's alpha (ordinal), resampling benchmarks.

    Args:
        value_counts: (cells, levels): how many coders gave each level to each pairable cell
            (any number of ordered levels).
        clusters: each cell's benchmark.
        n_boot: resamples.
        seed: the generator's seed.
    """
    names = sorted(set(clusters))
    if len(names) < MIN_ITEMS_FOR_INTERVAL:
        return _too_few(len(names))
    counts = value_counts.astype(np.float64)
    # A cell's coincidences: every ordered pair of its codes, weighted 1 / (codes - 1).
    n_levels = counts.shape[1]
    per_cell = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(n_levels)
    per_cell /= (counts.sum(axis=1) - 1)[:, None, None]
    index = {name: i for i, name in enumerate(names)}
    per_benchmark = np.zeros((len(names), n_levels * n_levels))
    for cell, cluster in zip(per_cell.reshape(len(counts), -1), clusters, strict=True):
        per_benchmark[index[cluster]] += cell
    coincidences = np.concatenate(
        [weights @ per_benchmark for weights in resample_weights(len(names), n_boot, seed)]
    ).reshape(n_boot, n_levels, n_levels)
    return _interval(alpha_replicates(coincidences))


def _too_few(n_benchmarks: int) -> AgreementInterval:
    return AgreementInterval(None, None, f"no interval: fewer than {MIN_ITEMS_FOR_INTERVAL} "
                                         f"benchmarks ({n_benchmarks})")


def _interval(replicates: FloatArray) -> AgreementInterval:
    # As in xstress agree: a resample where the statistic is undefined (no variation) is
    # dropped and counted rather than conditioned on silently.
    finite = replicates[np.isfinite(replicates)]
    if not len(finite):
        return AgreementInterval(
            None, None, f"no interval: none of the {len(replicates)} resamples had variation")
    low, high = np.percentile(finite, [2.5, 97.5])
    dropped = len(replicates) - len(finite)
    note = (f"benchmarks resampled (their cells together); interval from {len(finite)} of "
            f"{len(replicates)} resamples ({dropped} without variation dropped)" if dropped
            else "benchmarks resampled (their cells together)")
    return AgreementInterval(float(low), float(high), note)
