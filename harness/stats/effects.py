"""Scaffold effects: per model, non-baseline scaffold and rubric dimension, the mean paired
difference from the baseline, its 95% prompt-cluster t interval, its sign-flip p-value adjusted
across the whole effect table, and its label.

Pure maths on the integer-coded design and the score matrix (``score_matrix.py``). The pairing
and the count of pairs missing on one side are ``pairing.py``'s, the interval ``intervals.py``'s,
the p-value ``sign_flip.py``'s and the adjustment ``multiple_comparisons.py``'s; this module
owns putting them together into rows and the label rule (``label_effect``). It computes no
profile (``profiles.py``), does not test whether an effect depends on the model
(``interaction.py``), reads no file and draws nothing. An estimate that cannot be made is
``None`` with a ``note`` saying why, never NaN.

A scaffold's effect for a model and dimension is the mean paired difference (scaffold minus
baseline) over the (prompt, replicate) pairs where both are scored; its interval and test treat
prompts as the units, since items are clustered in prompts (replicates nested in prompts). The
family that the adjustment covers is every effect of the table with a p-value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from harness.stats.intervals import (
    ClusterIntervals,
    cluster_t_intervals,
    finite_or_none,
    interval_caveats,
)
from harness.stats.multiple_comparisons import ADJUST_NAMES, AdjustMethod, adjust_p_values
from harness.stats.pairing import MissingPairs, PairedScores, paired_scores
from harness.stats.score_matrix import LEVEL_MAX, Design, FloatArray, ScoreMatrix
from harness.stats.sign_flip import RANDOM_PATTERNS, sign_flip_p_values, smallest_p_value

__all__ = [
    "ALPHA",
    "EQUIVALENCE_MARGIN",
    "EffectLabel",
    "EffectRow",
    "compute_effects",
    "label_effect",
]

ALPHA = 0.05
"""An effect is ``improved``/``worsened`` only when its adjusted p-value is below this."""

EQUIVALENCE_MARGIN = 0.25
"""Default half-width (levels) of the band an interval must lie in for ``unchanged``."""

EffectLabel = Literal[
    "ceiling", "reached ceiling", "improved", "worsened", "unchanged", "inconclusive", ""
]


@dataclass(frozen=True)
class EffectRow:
    """A scaffold's paired effect vs the baseline for one model and dimension.

    ``n_pairs_missing`` counts (prompt, replicate) pairs with a level under one scaffold only,
    left out of the effect: ``missing_in_scaffold`` lack the scaffold's level,
    ``missing_in_baseline`` the baseline's, and ``missing_null`` of them were coded null.
    ``p_value`` is the two-sided sign-flip test over prompts; ``p_adjusted`` adjusts it by
    ``adjust`` over every effect of the table with a p-value. ``equivalence_margin`` is the
    band of the ``unchanged`` rule. ``same_distribution`` (identical multisets of paired levels)
    is informational; no label depends on it.
    """

    model: str
    scaffold: str
    baseline: str
    dimension: str
    n_pairs: int
    n_prompts: int
    n_pairs_missing: int
    missing_in_scaffold: int
    missing_in_baseline: int
    missing_null: int
    baseline_mean: float | None
    scaffold_mean: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    adjust: AdjustMethod
    equivalence_margin: float
    same_distribution: bool | None
    label: EffectLabel
    note: str


def label_effect(
    *,
    ci_low: float | None,
    ci_high: float | None,
    p_adjusted: float | None,
    all_at_max: bool,
    scaffold_at_max: bool,
    equivalence_margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
) -> EffectLabel:
    """The label of one effect (the rule the report states), first match wins.

    1. ``ceiling``: every paired score, baseline and scaffold, is at the top level.
    2. ``reached ceiling``: the scaffold is at the top level on every pair, the baseline below
       it on at least one (the effect is as large as the scale allows).
    3. No label without an interval.
    4. ``improved``/``worsened``: the interval lies above/below 0 and the adjusted p-value is
       below ``alpha``.
    5. ``unchanged``: the interval lies within +/- ``equivalence_margin``.
    6. ``inconclusive``: otherwise (the interval reaches past the margin, or it excludes 0
       without the adjusted p-value agreeing).
    """
    if all_at_max:
        return "ceiling"
    if scaffold_at_max:
        return "reached ceiling"
    if ci_low is None or ci_high is None:
        return ""
    significant = p_adjusted is not None and p_adjusted < alpha
    if significant and ci_low > 0:
        return "improved"
    if significant and ci_high < 0:
        return "worsened"
    if -equivalence_margin <= ci_low and ci_high <= equivalence_margin:
        return "unchanged"
    return "inconclusive"


def compute_effects(
    design: Design,
    scores: ScoreMatrix,
    *,
    baseline: str,
    equivalence_margin: float = EQUIVALENCE_MARGIN,
    adjust: AdjustMethod = "holm",
    seed: int = 0,
    n_random: int = RANDOM_PATTERNS,
) -> list[EffectRow]:
    """Per model, non-baseline scaffold and dimension: the paired effect vs ``baseline``.

    Args:
        design: the integer-coded key; must contain ``baseline``.
        scores: the scores the profile uses.
        baseline: the reference scaffold.
        equivalence_margin: ``unchanged`` needs the interval within +/- this many levels.
        adjust: the multiple-comparison adjustment over the table (``holm`` or ``bh``).
        seed: seed of the sign-flip test's RNG (used beyond 16 prompts).
        n_random: random sign patterns per test beyond 16 prompts.

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
    intervals = cluster_t_intervals(sums, counts, bounds=(-LEVEL_MAX, LEVEL_MAX))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    p_values = sign_flip_p_values(sums, rng, n_random=n_random)

    rows: list[EffectRow] = []
    for k, s in enumerate(others):
        rows.extend(
            _scaffold_rows(
                design, scores, baseline, (s, k), paired[s], intervals, p_values, n_random
            )
        )
    adjusted = adjust_p_values([row.p_value for row in rows], adjust)
    return [
        _labelled(replace(row, adjust=adjust, equivalence_margin=equivalence_margin), p)
        for row, p in zip(rows, adjusted, strict=True)
    ]


def _scaffold_rows(
    design: Design,
    scores: ScoreMatrix,
    baseline: str,
    scaffold: tuple[int, int],
    pair: PairedScores,
    intervals: ClusterIntervals,
    p_values: FloatArray,
    n_random: int,
) -> list[EffectRow]:
    """Unlabelled rows of scaffold index ``s``, the ``k``-th compared (``scaffold`` is
    ``(s, k)``), per model and dimension."""
    s, k = scaffold
    n_m, n_d = len(design.models), len(scores.dimensions)
    valid = pair.valid
    missing = pair.missing()
    rows = []
    for m, model in enumerate(design.models):
        for d, dimension in enumerate(scores.dimensions):
            column = (k * n_m + m) * n_d + d
            ok = valid[m, :, :, d]
            rows.append(
                _effect_row(
                    (model, design.scaffolds[s], baseline, dimension),
                    pair.baseline[m, :, :, d][ok],
                    pair.scaffold[m, :, :, d][ok],
                    int(ok.any(axis=1).sum()),
                    (
                        float(intervals.low[column]),
                        float(intervals.high[column]),
                        float(intervals.standard_error[column]),
                        float(p_values[column]),
                    ),
                    _missing_at(missing, m, d),
                    n_random,
                )
            )
    return rows


def _missing_at(missing: MissingPairs, m: int, d: int) -> tuple[int, int, int, int]:
    return (
        int(missing.total[m, d]),
        int(missing.in_scaffold[m, d]),
        int(missing.in_baseline[m, d]),
        int(missing.null[m, d]),
    )


def _effect_row(
    names: tuple[str, str, str, str],
    base: FloatArray,
    treated: FloatArray,
    n_prompts: int,
    estimate: tuple[float, float, float, float],
    missing: tuple[int, int, int, int],
    n_random: int,
) -> EffectRow:
    model, scaffold, baseline, dimension = names
    low, high, standard_error, p_value = estimate
    n_pairs = int(base.size)
    notes: list[str] = []
    if missing[0]:
        notes.append("pairs scored under one scaffold only were left out (n_pairs_missing)")
    row = EffectRow(
        model=model,
        scaffold=scaffold,
        baseline=baseline,
        dimension=dimension,
        n_pairs=n_pairs,
        n_prompts=0,
        n_pairs_missing=missing[0],
        missing_in_scaffold=missing[1],
        missing_in_baseline=missing[2],
        missing_null=missing[3],
        baseline_mean=None,
        scaffold_mean=None,
        effect=None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        p_adjusted=None,
        adjust="holm",
        equivalence_margin=EQUIVALENCE_MARGIN,
        same_distribution=None,
        label="",
        note="",
    )
    if n_pairs == 0:
        notes.insert(0, "not estimable: no (prompt, replicate) pair scored under both scaffolds")
        return replace(row, note="; ".join(notes))
    ci_low = ci_high = p = None
    if n_prompts < 2:
        notes.append("CI not estimable: pairs from fewer than 2 prompts")
    else:
        ci_low, ci_high = finite_or_none(low), finite_or_none(high)
        p = finite_or_none(p_value)
        notes.extend(interval_caveats(n_prompts, standard_error))
        if smallest_p_value(n_prompts, n_random=n_random) >= ALPHA:
            notes.append(
                f"with {n_prompts} prompts the sign-flip p-value cannot fall below "
                f"{smallest_p_value(n_prompts, n_random=n_random):.4f}, so no effect can be "
                "improved or worsened"
            )
    return replace(
        row,
        n_prompts=n_prompts,
        baseline_mean=float(base.mean()),
        scaffold_mean=float(treated.mean()),
        effect=float((treated - base).mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p,
        same_distribution=bool(np.array_equal(np.sort(base), np.sort(treated))),
        note="; ".join(notes),
    )


def _labelled(row: EffectRow, p_adjusted: float | None) -> EffectRow:
    """The row with its adjusted p-value, label and the notes the label needs."""
    if row.n_pairs == 0:
        return row
    # Levels never exceed the top one, so a mean at the top level means every paired value is
    # there (a sum of equal floats divided by their number is exact).
    scaffold_at_max = row.scaffold_mean == LEVEL_MAX
    all_at_max = scaffold_at_max and row.baseline_mean == LEVEL_MAX
    label = label_effect(
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        p_adjusted=p_adjusted,
        all_at_max=all_at_max,
        scaffold_at_max=scaffold_at_max,
        equivalence_margin=row.equivalence_margin,
    )
    notes = [row.note] if row.note else []
    if label == "" and row.ci_low is None:
        notes.append("no label without a CI")
    excludes_zero = row.ci_low is not None and row.ci_high is not None and (
        row.ci_low > 0 or row.ci_high < 0
    )
    if label == "inconclusive" and excludes_zero and p_adjusted is not None:
        notes.append(
            f"the interval excludes 0 but the {ADJUST_NAMES[row.adjust]}-adjusted p-value "
            f"is not below {ALPHA}"
        )
    return replace(row, p_adjusted=p_adjusted, label=label, note="; ".join(notes))
