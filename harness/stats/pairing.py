"""Pairing a scaffold with the baseline: per model, prompt, replicate and rubric dimension, the
two values side by side, their per-prompt totals, and the pairs that could not be made.

A pair is the same model, prompt and replicate under both scaffolds; it counts where both have
a level. Where one scaffold has a level and the other has none (the coder's null, a failed
coding, or no transcript at all), the pair is missing on one side: a scaffold can cause that
(one that makes a model refuse, or a coder abstain), so those are counted, by side and by
reason, rather than dropped without a word. Where neither has a level, nothing is lost to the
comparison (the profile counts those items). This module owns that bookkeeping; the effect, its
interval and label are ``effects.py``'s and the model-dependence test ``interaction.py``'s, which
both pair through here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.stats.score_matrix import STATUS_NULL, Design, FloatArray, ScoreMatrix

__all__ = ["MissingPairs", "PairedScores", "paired_scores"]

IntArray = npt.NDArray[np.int64]

_NO_ITEM = -1
"""Status of an arm with no item in the key (its transcript ended in error or was blocked)."""


@dataclass(frozen=True)
class MissingPairs:
    """Per (model, dimension): pairs with a level on one side only.

    Attributes:
        total: pairs where exactly one scaffold has a level.
        in_scaffold: of those, the scaffold's side has none (the baseline is scored).
        in_baseline: of those, the baseline's side has none.
        null: of those, the side without a level was coded null (not applicable); the rest
            were not scored (a coder failure or no record) or have no transcript.
    """

    total: IntArray
    in_scaffold: IntArray
    in_baseline: IntArray
    null: IntArray


@dataclass(frozen=True)
class PairedScores:
    """Paired values of one scaffold and the baseline, shaped (models, prompts, replicates,
    dimensions): the values (NaN where there is no level) and their status codes
    (``STATUS_*``, or -1 where there is no item)."""

    baseline: FloatArray
    scaffold: FloatArray
    baseline_status: npt.NDArray[np.int8]
    scaffold_status: npt.NDArray[np.int8]

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Where both the baseline and the scaffold value are present."""
        return ~(np.isnan(self.baseline) | np.isnan(self.scaffold))

    def block_totals(self) -> tuple[FloatArray, FloatArray]:
        """Per (model, prompt, dimension): sum of paired differences and number of pairs."""
        valid = self.valid
        diff = np.where(valid, self.scaffold - self.baseline, 0.0)
        return diff.sum(axis=2), valid.sum(axis=2).astype(np.float64)

    def missing(self) -> MissingPairs:
        """The pairs with a level on one side only, per (model, dimension)."""
        has_base = ~np.isnan(self.baseline)
        has_scaffold = ~np.isnan(self.scaffold)
        in_scaffold = has_base & ~has_scaffold
        in_baseline = has_scaffold & ~has_base
        null = (in_scaffold & (self.scaffold_status == STATUS_NULL)) | (
            in_baseline & (self.baseline_status == STATUS_NULL)
        )

        def count(mask: npt.NDArray[np.bool_]) -> IntArray:
            counted: IntArray = mask.sum(axis=(1, 2)).astype(np.int64)
            return counted

        return MissingPairs(
            total=count(in_scaffold | in_baseline),
            in_scaffold=count(in_scaffold),
            in_baseline=count(in_baseline),
            null=count(null),
        )


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
    n_dims = len(scores.dimensions)
    # An extra row lets the -1 of missing cells index "no value" / "no item".
    padded = np.vstack([scores.values, np.full((1, n_dims), np.nan)])
    status = np.vstack([scores.status, np.full((1, n_dims), _NO_ITEM, dtype=np.int8)])
    return PairedScores(
        baseline=padded[lookup[:, baseline]],
        scaffold=padded[lookup[:, scaffold]],
        baseline_status=status[lookup[:, baseline]],
        scaffold_status=status[lookup[:, scaffold]],
    )
