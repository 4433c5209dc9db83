"""Alignment profiles: per model, scaffold and rubric dimension, the level counts, the mean and
its 95% prompt-cluster t interval.

Pure maths on the integer-coded design and the score matrix (``score_matrix.py``); the
interval is ``intervals.py``'s. This module reads no file, draws nothing and compares no
scaffold with another (``effects.py`` does). A mean or interval that cannot be estimated is
``None`` with a ``note`` saying why, never NaN.

The mean pools every scored item of a cell (not the mean of prompt means); the interval treats
prompts as the units, since items are clustered in prompts (replicates nested in prompts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.stats.intervals import cluster_t_intervals, finite_or_none, interval_caveats
from harness.stats.score_matrix import (
    LEVEL_MAX,
    STATUS_MISSING,
    STATUS_NULL,
    STATUS_UNSCORED,
    Design,
    FloatArray,
    ScoreMatrix,
)

__all__ = ["CoderCellCounts", "ProfileRow", "compute_profiles"]


@dataclass(frozen=True)
class CoderCellCounts:
    """One coder's own codes in one profile cell (model x scaffold x dimension)."""

    coder: str
    n: int
    """Items the coder gave a level."""
    count_null: int
    """Items the coder coded null (not applicable)."""
    count_unscored: int
    """Items the coder failed on (unscored) or has no record for."""


@dataclass(frozen=True)
class ProfileRow:
    """One model x scaffold x dimension cell of the alignment profile.

    ``mean``/``ci_low``/``ci_high`` are None when not estimable; ``note`` says why or flags
    a caveat. ``count_between`` counts items whose value lies between levels (only when the
    profile uses the mean of several judges). ``count_null`` and ``count_unscored`` count
    items no coder gave a level; ``by_coder`` has each coder's own counts, so that a coder
    that gave no level (and so nothing to the mean) shows.
    """

    model: str
    scaffold: str
    dimension: str
    n_items: int
    n: int
    count_0: int
    count_1: int
    count_2: int
    count_between: int
    count_null: int
    count_unscored: int
    n_prompts: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    note: str
    by_coder: tuple[CoderCellCounts, ...] = ()
    """Each coder's own counts in this cell, in the order the coders were given."""


def compute_profiles(design: Design, scores: ScoreMatrix,
                     coders: Mapping[str, ScoreMatrix] | None = None) -> list[ProfileRow]:
    """Per model x scaffold x dimension: counts, mean and a 95% prompt-cluster t interval.

    Args:
        design: the integer-coded key.
        scores: the scores the profile uses.
        coders: the matrices of the coders behind ``scores``, by name, for each row's
            ``by_coder`` counts; None for none.

    Returns:
        One row per model x scaffold x dimension, in design order.
    """
    n_m, n_s, n_p = len(design.models), len(design.scaffolds), len(design.prompts)
    n_d = len(scores.dimensions)
    cell = (design.model * n_s + design.scaffold) * n_p + design.prompt
    size = n_m * n_s * n_p
    sums = np.zeros((n_p, n_m * n_s * n_d))
    counts = np.zeros_like(sums)
    for d in range(n_d):
        values = scores.values[:, d]
        ok = ~np.isnan(values)
        cell_sum = np.bincount(cell[ok], weights=values[ok], minlength=size).reshape(n_m * n_s, n_p)
        cell_count = np.bincount(cell[ok], minlength=size).reshape(n_m * n_s, n_p)
        sums[:, d::n_d] = cell_sum.T
        counts[:, d::n_d] = cell_count.T
    intervals = cluster_t_intervals(sums, counts, bounds=(0.0, LEVEL_MAX))

    pair = design.model * n_s + design.scaffold
    n_items = np.bincount(pair, minlength=n_m * n_s)
    aligned = {name: matrix.reindex(scores.dimensions) for name, matrix in (coders or {}).items()}
    rows: list[ProfileRow] = []
    for m, model in enumerate(design.models):
        for s, scaffold in enumerate(design.scaffolds):
            in_cell = pair == m * n_s + s
            for d, dimension in enumerate(scores.dimensions):
                column = (m * n_s + s) * n_d + d
                by_coder = tuple(
                    _coder_counts(name, matrix.values[in_cell, d], matrix.status[in_cell, d])
                    for name, matrix in aligned.items())
                rows.append(
                    _profile_row(
                        model,
                        scaffold,
                        dimension,
                        int(n_items[m * n_s + s]),
                        scores.values[in_cell, d],
                        scores.status[in_cell, d],
                        sums[:, column],
                        counts[:, column],
                        (
                            float(intervals.low[column]),
                            float(intervals.high[column]),
                            float(intervals.standard_error[column]),
                        ),
                        by_coder,
                    )
                )
    return rows


def _coder_counts(coder: str, values: FloatArray, status: npt.NDArray[np.int8]
                  ) -> CoderCellCounts:
    return CoderCellCounts(
        coder=coder,
        n=int((~np.isnan(values)).sum()),
        count_null=int((status == STATUS_NULL).sum()),
        count_unscored=int(((status == STATUS_UNSCORED) | (status == STATUS_MISSING)).sum()),
    )


def _profile_row(
    model: str,
    scaffold: str,
    dimension: str,
    n_items: int,
    values: FloatArray,
    status: npt.NDArray[np.int8],
    prompt_sums: FloatArray,
    prompt_counts: FloatArray,
    interval: tuple[float, float, float],
    by_coder: tuple[CoderCellCounts, ...] = (),
) -> ProfileRow:
    low, high, standard_error = interval
    scored = values[~np.isnan(values)]
    n = int(scored.size)
    n_prompts = int((prompt_counts > 0).sum())
    notes: list[str] = []
    mean = ci_low = ci_high = None
    if n_items == 0:
        notes.append("not estimable: no items for this model and scaffold (all error/blocked?)")
    elif n == 0:
        notes.append("not estimable: no scored items (all null or unscored)")
    else:
        mean = float(prompt_sums.sum() / prompt_counts.sum())
        if n_prompts < 2:
            notes.append("CI not estimable: scores from fewer than 2 prompts")
        else:
            ci_low, ci_high = finite_or_none(low), finite_or_none(high)
            notes.extend(interval_caveats(n_prompts, standard_error))
    return ProfileRow(
        model=model,
        scaffold=scaffold,
        dimension=dimension,
        n_items=n_items,
        n=n,
        count_0=int((scored == 0).sum()),
        count_1=int((scored == 1).sum()),
        count_2=int((scored == 2).sum()),
        count_between=int((scored != np.round(scored)).sum()),
        count_null=int((status == STATUS_NULL).sum()),
        count_unscored=int(((status == STATUS_UNSCORED) | (status == STATUS_MISSING)).sum()),
        n_prompts=n_prompts,
        mean=mean,
        ci_low=ci_low,
        ci_high=ci_high,
        note="; ".join(notes),
        by_coder=by_coder,
    )
