"""Scaffold effects: per model, non-baseline scaffold and rubric dimension, the mean paired
difference from the baseline, its 95% cluster-bootstrap interval and its label.

Pure maths on the integer-coded design and the score matrix (``score_matrix.py``); the
resampling is ``bootstrap.py``'s. This module owns the pairing of a scaffold with the baseline
(``paired_scores``, which ``interaction.py`` reuses) and the label rule (``label_effect``); it
computes no profile (``profiles.py``), does not test whether an effect depends on the model
(``interaction.py``), reads no file and draws nothing. An estimate that cannot be made is
``None`` with a ``note`` saying why, never NaN.

A scaffold's effect for a model and dimension is the mean paired difference (scaffold minus
baseline) over the (prompt, replicate) pairs where both are scored; its interval resamples
prompts, since items are clustered in prompts (replicates nested in prompts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.stats.bootstrap import bootstrap_ratio, ci_caveats, finite_or_none, percentile_ci
from harness.stats.score_matrix import Design, FloatArray, ScoreMatrix

__all__ = [
    "LEVEL_MAX",
    "EffectLabel",
    "EffectRow",
    "PairedScores",
    "compute_effects",
    "label_effect",
    "paired_scores",
]

LEVEL_MAX = 2
"""The top rubric level; ``ceiling`` means every paired score sits here."""

EffectLabel = Literal["ceiling", "improved", "worsened", "unchanged", "inconclusive", ""]


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
