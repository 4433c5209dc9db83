"""Bootstrap 95% intervals for the agreement statistics, by resampling items.

This module owns how ``xstress agree`` puts an interval on percentage agreement, Cohen's kappa
(unweighted and quadratic-weighted) and Krippendorff's alpha (ordinal): a percentile interval
over ``n_boot`` resamples of the items with replacement, and the notes that say when an
interval cannot be estimated (too few items, too few resamples with any variation) or was
estimated from fewer than all resamples. Every interval draws its resamples the same way, from
a fresh ``numpy.random.default_rng(seed)``: ``integers(0, n, size=(n_boot, n))`` gives the
item indices, one resample a row, so an estimate's interval depends only on its own items and
the seed (not on which other coders or dimensions the run has), and a test can redo the
bootstrap with a library call per resample. The point estimates stay scikit-learn's and
``krippendorff``'s (``agreement.py``); calling them once per resample costs about 1.7 ms
(kappa) and 0.2 ms (alpha) a call, minutes for a full run, so the replicates here apply the
same definitions to all resamples at once, from each resample's confusion or coincidence
counts, and the tests check them against the libraries resample by resample.
``scipy.stats.bootstrap`` does not fit: it cannot drop the resamples where a statistic is
undefined and count them. This module reads no file and knows nothing of coders' names.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.rundir import AgreementStatistic
from harness.stats.bootstrap import WEIGHT_BLOCK_CELLS, percentile_ci

__all__ = [
    "DEFAULT_N_BOOT",
    "DEFAULT_SEED",
    "MIN_ITEMS_FOR_INTERVAL",
    "AgreementInterval",
    "alpha_interval",
    "alpha_replicates",
    "kappa_replicates",
    "pair_intervals",
    "resample_weights",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_N_BOOT = 2000
"""Resamples per interval unless the caller asks for another number."""
DEFAULT_SEED = 0
"""Seed of every interval's generator unless the caller gives one."""
MIN_ITEMS_FOR_INTERVAL = 10
"""Below this many items a resample can take only a handful of distinct shapes, and the
percentile interval says more about the resampling than about the coders: no interval."""

_LEVEL_COUNT = 3


@dataclass(frozen=True)
class AgreementInterval:
    """A 95% percentile interval, or why there is none."""

    low: float | None
    high: float | None
    note: str
    """Empty when every resample was usable; else what was dropped, or why no interval."""


def resample_weights(n_items: int, n_boot: int, seed: int) -> Iterator[FloatArray]:
    """How often each item appears in each resample, in blocks of resamples.

    The indices are ``default_rng(seed).integers(0, n_items, size=(n_boot, n_items))``, drawn
    in blocks of rows to bound memory (the generator's stream is the same either way).

    Args:
        n_items: items to resample.
        n_boot: resamples.
        seed: the generator's seed.

    Yields:
        (block, n_items) arrays of counts, block rows in resample order; read-only.
    """
    if n_items * n_boot <= WEIGHT_BLOCK_CELLS:
        # Every pair of coders with the same number of shared items, on every dimension,
        # resamples the same way, and drawing is most of an interval's cost: one block, kept.
        yield _one_block(n_items, n_boot, seed)
        return
    rng = np.random.default_rng(seed)
    block = max(1, WEIGHT_BLOCK_CELLS // max(n_items, 1))
    for start in range(0, n_boot, block):
        yield _draw(rng, n_items, min(block, n_boot - start))


@functools.lru_cache(maxsize=2)
def _one_block(n_items: int, n_boot: int, seed: int) -> FloatArray:
    return _draw(np.random.default_rng(seed), n_items, n_boot)


def _draw(rng: np.random.Generator, n_items: int, size: int) -> FloatArray:
    draws = rng.integers(0, n_items, size=(size, n_items))
    flat = (draws + (np.arange(size) * n_items)[:, None]).ravel()
    weights = np.bincount(flat, minlength=size * n_items).reshape(size, n_items).astype(
        np.float64)
    weights.flags.writeable = False
    return weights


def kappa_replicates(confusions: FloatArray, quadratic: bool) -> FloatArray:
    """Cohen's kappa of each confusion matrix, as ``sklearn.metrics.cohen_kappa_score``.

    Same steps as scikit-learn (expected counts from the outer product of the marginals,
    weights 1 off the diagonal or (i - j)^2), over a stack of matrices.

    Args:
        confusions: (resamples, levels, levels) counts; rows one coder, columns the other.
        quadratic: quadratic weights; else unweighted.

    Returns:
        (resamples,); NaN where kappa is undefined (both coders on one and the same level).
    """
    levels = confusions.shape[1]
    index = np.arange(levels, dtype=np.float64)
    weights = (index[None, :] - index[:, None]) ** 2 if quadratic else 1.0 - np.eye(levels)
    sum0 = confusions.sum(axis=1)
    sum1 = confusions.sum(axis=2)
    total = sum0.sum(axis=1)
    expected = sum0[:, :, None] * sum1[:, None, :] / total[:, None, None]
    observed_disagreement = (weights * confusions).sum(axis=(1, 2))
    expected_disagreement = (weights * expected).sum(axis=(1, 2))
    out = np.full(confusions.shape[0], np.nan)
    np.divide(observed_disagreement, expected_disagreement, out=out,
              where=expected_disagreement > 0)
    return 1.0 - out


def alpha_replicates(coincidences: FloatArray) -> FloatArray:
    """Krippendorff's alpha (ordinal) of each coincidence matrix, as ``krippendorff.alpha``.

    The package's steps over a stack of matrices: value totals n_v, expected coincidences
    (n_v n_v' - diag n_v) / (n - 1), ordinal distance (sum of n_g from c to k - (n_c + n_k)/2)^2,
    alpha = 1 - sum(o d) / sum(e d).

    Args:
        coincidences: (resamples, levels, levels) coincidence matrices.

    Returns:
        (resamples,); NaN where alpha is undefined (one level only).
    """
    levels = coincidences.shape[1]
    n_v = coincidences.sum(axis=1)
    total = n_v.sum(axis=1)
    cumulative = np.concatenate([np.zeros((len(n_v), 1)), np.cumsum(n_v, axis=1)], axis=1)
    low = np.minimum.outer(np.arange(levels), np.arange(levels))
    high = np.maximum.outer(np.arange(levels), np.arange(levels))
    between = cumulative[:, high + 1] - cumulative[:, low]
    distance = (between - (n_v[:, :, None] + n_v[:, None, :]) / 2) ** 2
    expected = (n_v[:, :, None] * n_v[:, None, :] - n_v[:, :, None] * np.eye(levels))
    expected /= np.maximum(total - 1, 1)[:, None, None]
    observed_disagreement = (coincidences * distance).sum(axis=(1, 2))
    expected_disagreement = (expected * distance).sum(axis=(1, 2))
    out = np.full(len(coincidences), np.nan)
    np.divide(observed_disagreement, expected_disagreement, out=out,
              where=expected_disagreement > 0)
    return 1.0 - out


def pair_intervals(
    levels_a: Sequence[int], levels_b: Sequence[int], *, n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
) -> dict[AgreementStatistic, AgreementInterval]:
    """Intervals for percentage agreement and both kappas of two coders' levels (0, 1, 2).

    The three statistics share the resamples.

    Args:
        levels_a, levels_b: the two coders' levels, item by item (same length).
        n_boot: resamples.
        seed: the generator's seed.

    Returns:
        ``percent_agreement``, ``cohen_kappa`` and ``cohen_kappa_quadratic`` intervals.
    """
    n_items = len(levels_a)
    statistics: tuple[AgreementStatistic, ...] = (
        "percent_agreement", "cohen_kappa", "cohen_kappa_quadratic")
    if n_items < MIN_ITEMS_FOR_INTERVAL:
        return {statistic: _too_few(n_items) for statistic in statistics}
    cells = np.asarray(levels_a) * _LEVEL_COUNT + np.asarray(levels_b)
    one_hot = np.eye(_LEVEL_COUNT**2)[cells]
    confusions = np.concatenate(
        [weights @ one_hot for weights in resample_weights(n_items, n_boot, seed)]
    ).reshape(n_boot, _LEVEL_COUNT, _LEVEL_COUNT)
    agreement = np.trace(confusions, axis1=1, axis2=2) / n_items
    return {
        "percent_agreement": _interval(agreement),
        "cohen_kappa": _interval(kappa_replicates(confusions, quadratic=False)),
        "cohen_kappa_quadratic": _interval(kappa_replicates(confusions, quadratic=True)),
    }


def alpha_interval(
    value_counts: IntArray, *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED
) -> AgreementInterval:
    """The interval for Krippendorff's alpha (ordinal), resampling pairable items.

    Args:
        value_counts: (items, levels): how many coders gave each level to each item; every
            item has two or more codes.
        n_boot: resamples.
        seed: the generator's seed.
    """
    n_items = len(value_counts)
    if n_items < MIN_ITEMS_FOR_INTERVAL:
        return _too_few(n_items)
    counts = value_counts.astype(np.float64)
    per_item = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(
        counts.shape[1])
    per_item /= (counts.sum(axis=1) - 1)[:, None, None]
    flat = per_item.reshape(n_items, -1)
    coincidences = np.concatenate(
        [weights @ flat for weights in resample_weights(n_items, n_boot, seed)]
    ).reshape(n_boot, counts.shape[1], counts.shape[1])
    return _interval(alpha_replicates(coincidences))


def _too_few(n_items: int) -> AgreementInterval:
    return AgreementInterval(
        None, None, f"no interval: fewer than {MIN_ITEMS_FOR_INTERVAL} items ({n_items})")


def _interval(replicates: FloatArray) -> AgreementInterval:
    # A resample where the statistic is undefined (no variation) is dropped and counted. With
    # ten or more items and a defined estimate, at most (1 - 1/n)^n < 37% of resamples can
    # lack variation, so the interval is never conditioned on a rare subset of resamples.
    n_boot = len(replicates)
    usable = int(np.isfinite(replicates).sum())
    if usable == 0:
        return AgreementInterval(
            None, None, f"no interval: none of the {n_boot} resamples had variation")
    low, high, _ = percentile_ci(replicates[:, None])
    note = (f"interval from {usable} of {n_boot} resamples ({n_boot - usable} without "
            "variation dropped)" if usable < n_boot else "")
    return AgreementInterval(float(low[0]), float(high[0]), note)
