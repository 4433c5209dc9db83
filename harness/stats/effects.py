"""Unblinded statistics: alignment profiles and scaffold effects.

Pure maths on numpy arrays and frozen dataclasses. This module reads no file and draws nothing
(``report.py`` reads the run directory and writes the report, ``plots.py`` draws). The join of
scores with the blinding key (``Design``, ``ScoreMatrix``) is ``score_matrix.py``'s, re-exported
here for existing callers. The cluster bootstrap behind every interval is
``cluster_bootstrap.py``'s; whether an effect depends on the model is ``interaction.py``'s.
Every estimate that cannot be computed is returned as ``None`` with a ``note`` saying why, never
as NaN, so no table downstream can show one.

Methods, in short (the report states them in full):

* Items are clustered in prompts (replicates nested in prompts), so every confidence interval
  is a percentile interval from a cluster bootstrap that resamples prompts (see
  ``cluster_bootstrap.py``).
* A scaffold's effect for a model and dimension is the mean paired difference (scaffold minus
  baseline) over (prompt, replicate) pairs where both are scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.stats.bootstrap import bootstrap_ratio, ci_caveats, finite_or_none, percentile_ci
from harness.stats.score_matrix import (
    STATUS_MISSING,
    STATUS_NULL,
    STATUS_SCORED,
    STATUS_UNSCORED,
    Design,
    FloatArray,
    ScoreMatrix,
    ScoreMatrixBuilder,
    index_key,
    mean_of_coders,
    natural_dimension_order,
)

__all__ = [
    "LEVEL_MAX",
    "STATUS_MISSING",
    "STATUS_NULL",
    "STATUS_SCORED",
    "STATUS_UNSCORED",
    "Design",
    "EffectLabel",
    "EffectRow",
    "PairedScores",
    "ProfileRow",
    "ScoreMatrix",
    "ScoreMatrixBuilder",
    "compute_effects",
    "compute_profiles",
    "index_key",
    "label_effect",
    "mean_of_coders",
    "natural_dimension_order",
    "paired_scores",
]

LEVEL_MAX = 2
"""The top rubric level; ``ceiling`` means every paired score sits here."""

EffectLabel = Literal["ceiling", "improved", "worsened", "unchanged", "inconclusive", ""]


# --------------------------------------------------------------------------- result rows


@dataclass(frozen=True)
class ProfileRow:
    """One model x scaffold x dimension cell of the alignment profile.

    ``mean``/``ci_low``/``ci_high`` are None when not estimable; ``note`` says why or flags
    a caveat. ``count_between`` counts items whose value lies between levels (only when the
    profile uses the mean of several judges).
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


@dataclass(frozen=True)
class EffectRow:
    """A scaffold's paired effect vs the baseline for one model and dimension."""

    model: str
    scaffold: str
    baseline: str
    dimension: str
    n_pairs: int
    n_prompts: int
    baseline_mean: float | None
    scaffold_mean: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    same_distribution: bool | None
    label: EffectLabel
    note: str


# --------------------------------------------------------------------------- profiles


def compute_profiles(
    design: Design, scores: ScoreMatrix, *, n_boot: int = 2000, seed: int = 0
) -> list[ProfileRow]:
    """Per model x scaffold x dimension: counts, mean and a 95% cluster-bootstrap CI.

    Args:
        design: the integer-coded key.
        scores: the scores the profile uses.
        n_boot: bootstrap resamples of prompts.
        seed: seed of the resampling RNG.

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
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    low, high, empty = percentile_ci(bootstrap_ratio(sums, counts, n_boot, rng))

    pair = design.model * n_s + design.scaffold
    n_items = np.bincount(pair, minlength=n_m * n_s)
    rows: list[ProfileRow] = []
    for m, model in enumerate(design.models):
        for s, scaffold in enumerate(design.scaffolds):
            in_cell = pair == m * n_s + s
            for d, dimension in enumerate(scores.dimensions):
                column = (m * n_s + s) * n_d + d
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
                        float(low[column]),
                        float(high[column]),
                        float(empty[column]),
                    )
                )
    return rows


def _profile_row(
    model: str,
    scaffold: str,
    dimension: str,
    n_items: int,
    values: FloatArray,
    status: npt.NDArray[np.int8],
    prompt_sums: FloatArray,
    prompt_counts: FloatArray,
    low: float,
    high: float,
    empty_fraction: float,
) -> ProfileRow:
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
            if float(scored.min()) == float(scored.max()):
                notes.append("all scores equal: the bootstrap CI has zero width")
            notes.extend(ci_caveats(n_prompts, empty_fraction))
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
    )


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class PairedScores:
    """Paired values of one scaffold and the baseline, shaped (models, prompts, replicates,
    dimensions), NaN where the pair is incomplete."""

    baseline: FloatArray
    scaffold: FloatArray

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Where both the baseline and the scaffold value are present."""
        return ~(np.isnan(self.baseline) | np.isnan(self.scaffold))

    def block_totals(self) -> tuple[FloatArray, FloatArray]:
        """Per (model, prompt, dimension): sum of paired differences and number of pairs."""
        valid = self.valid
        diff = np.where(valid, self.scaffold - self.baseline, 0.0)
        return diff.sum(axis=2), valid.sum(axis=2).astype(np.float64)


def paired_scores(
    design: Design, scores: ScoreMatrix, baseline: int, scaffold: int
) -> PairedScores:
    """The values of scaffold index ``scaffold`` paired with those of ``baseline``.

    Args:
        design: the integer-coded key.
        scores: the scores the profile uses.
        baseline, scaffold: scaffold indices into ``design.scaffolds``.
    """
    lookup = design.cell_lookup()
    # An extra all-NaN row lets the -1 of missing cells index "no value".
    padded = np.vstack([scores.values, np.full((1, len(scores.dimensions)), np.nan)])
    return PairedScores(baseline=padded[lookup[:, baseline]], scaffold=padded[lookup[:, scaffold]])


def label_effect(
    *,
    ci_low: float | None,
    ci_high: float | None,
    all_at_max: bool,
    same_distribution: bool,
) -> EffectLabel:
    """The label of one effect (the rule the report states).

    ``ceiling`` when every paired score, baseline and scaffold, is at the top level (nothing
    to improve); else ``improved``/``worsened`` when the 95% CI excludes 0 on that side; else
    ``unchanged`` when the CI covers 0 and the paired level distributions are identical; else
    ``inconclusive`` (the CI covers 0 but the distributions differ: the data neither show an
    effect nor show its absence). Empty when there is no CI.
    """
    if all_at_max:
        return "ceiling"
    if ci_low is None or ci_high is None:
        return ""
    if ci_low > 0:
        return "improved"
    if ci_high < 0:
        return "worsened"
    return "unchanged" if same_distribution else "inconclusive"


def compute_effects(
    design: Design,
    scores: ScoreMatrix,
    *,
    baseline: str,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[EffectRow]:
    """Per model, non-baseline scaffold and dimension: the paired effect vs ``baseline``.

    Args:
        design: the integer-coded key; must contain ``baseline``.
        scores: the scores the profile uses.
        baseline: the reference scaffold.
        n_boot: bootstrap resamples of prompts.
        seed: seed of the resampling RNG.

    Returns:
        Rows ordered by scaffold, model, dimension; empty if there is no other scaffold.
    """
    b = design.scaffolds.index(baseline)
    others = [s for s in range(len(design.scaffolds)) if s != b]
    if not others:
        return []
    n_m, n_p, n_d = len(design.models), len(design.prompts), len(scores.dimensions)
    paired = {s: paired_scores(design, scores, b, s) for s in others}
    sums = np.zeros((n_p, len(others) * n_m * n_d))
    counts = np.zeros_like(sums)
    for k, s in enumerate(others):
        block_sum, block_count = paired[s].block_totals()
        start = k * n_m * n_d
        # (models, prompts, dims) -> (prompts, models * dims)
        sums[:, start : start + n_m * n_d] = block_sum.transpose(1, 0, 2).reshape(n_p, -1)
        counts[:, start : start + n_m * n_d] = block_count.transpose(1, 0, 2).reshape(n_p, -1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    low, high, empty = percentile_ci(bootstrap_ratio(sums, counts, n_boot, rng))

    rows: list[EffectRow] = []
    for k, s in enumerate(others):
        pair = paired[s]
        valid = pair.valid
        for m, model in enumerate(design.models):
            for d, dimension in enumerate(scores.dimensions):
                column = (k * n_m + m) * n_d + d
                ok = valid[m, :, :, d]
                rows.append(
                    _effect_row(
                        model,
                        design.scaffolds[s],
                        baseline,
                        dimension,
                        pair.baseline[m, :, :, d][ok],
                        pair.scaffold[m, :, :, d][ok],
                        int(ok.any(axis=1).sum()),
                        float(low[column]),
                        float(high[column]),
                        float(empty[column]),
                    )
                )
    return rows


def _effect_row(
    model: str,
    scaffold: str,
    baseline: str,
    dimension: str,
    base: FloatArray,
    treated: FloatArray,
    n_prompts: int,
    low: float,
    high: float,
    empty_fraction: float,
) -> EffectRow:
    n_pairs = int(base.size)
    notes: list[str] = []
    if n_pairs == 0:
        return EffectRow(
            model=model,
            scaffold=scaffold,
            baseline=baseline,
            dimension=dimension,
            n_pairs=0,
            n_prompts=0,
            baseline_mean=None,
            scaffold_mean=None,
            effect=None,
            ci_low=None,
            ci_high=None,
            same_distribution=None,
            label="",
            note="not estimable: no (prompt, replicate) pair scored under both scaffolds",
        )
    same = bool(np.array_equal(np.sort(base), np.sort(treated)))
    all_at_max = bool((base == LEVEL_MAX).all() and (treated == LEVEL_MAX).all())
    ci_low = ci_high = None
    if n_prompts < 2:
        notes.append("CI not estimable: pairs from fewer than 2 prompts")
    else:
        ci_low, ci_high = finite_or_none(low), finite_or_none(high)
        if bool((treated - base == (treated - base)[0]).all()):
            notes.append("all paired differences equal: the bootstrap CI has zero width")
        notes.extend(ci_caveats(n_prompts, empty_fraction))
    label = label_effect(
        ci_low=ci_low, ci_high=ci_high, all_at_max=all_at_max, same_distribution=same
    )
    if label == "" and not all_at_max:
        notes.append("no label without a CI")
    return EffectRow(
        model=model,
        scaffold=scaffold,
        baseline=baseline,
        dimension=dimension,
        n_pairs=n_pairs,
        n_prompts=n_prompts,
        baseline_mean=float(base.mean()),
        scaffold_mean=float(treated.mean()),
        effect=float((treated - base).mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        same_distribution=same,
        label=label,
        note="; ".join(notes),
    )
