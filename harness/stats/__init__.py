"""Statistics over scores: the score matrix, profiles and effects, the interaction test, agreement.

``score_matrix`` joins the blinding key with the scores and ``pairing`` pairs a scaffold with
the baseline; ``profiles``, ``effects`` and ``interaction`` are the report's estimates
(intervals from ``intervals``, effect p-values from ``sign_flip``, adjusted by
``multiple_comparisons``); ``coder_scores``, ``agreement``, ``agreement_intervals`` (bootstrap
intervals over items, also usable for any two columns of levels, e.g. a judge against intended
levels; its resampling and replicate functions also serve the benchmark audit's intervals over
benchmarks) and ``agreement_output`` are ``xstress agree``. Pure maths apart from agreement's own
score reading and its files under ``report/``.
"""

from __future__ import annotations

from harness.stats.agreement import AgreementResult, compute_agreement, prevalence_warning
from harness.stats.agreement_intervals import (
    MIN_ITEMS_FOR_INTERVAL,
    AgreementInterval,
    alpha_interval,
    alpha_replicates,
    kappa_replicates,
    pair_intervals,
    resample_weights,
)
from harness.stats.agreement_output import format_agreement_table, write_agreement
from harness.stats.effects import EffectLabel, EffectRow, compute_effects
from harness.stats.interaction import InteractionRow, interaction_tests
from harness.stats.multiple_comparisons import ADJUST_NAMES, AdjustMethod
from harness.stats.profiles import CoderCellCounts, ProfileRow, compute_profiles
from harness.stats.score_matrix import (
    LEVEL_MAX,
    STATUS_NULL,
    STATUS_UNSCORED,
    Design,
    ScoreMatrix,
    ScoreMatrixBuilder,
    index_key,
    mean_of_coders,
    natural_dimension_order,
)
from harness.stats.sign_flip import smallest_p_value

__all__ = [
    "ADJUST_NAMES",
    "LEVEL_MAX",
    "MIN_ITEMS_FOR_INTERVAL",
    "STATUS_NULL",
    "STATUS_UNSCORED",
    "AdjustMethod",
    "AgreementInterval",
    "AgreementResult",
    "CoderCellCounts",
    "Design",
    "EffectLabel",
    "EffectRow",
    "InteractionRow",
    "ProfileRow",
    "ScoreMatrix",
    "ScoreMatrixBuilder",
    "alpha_interval",
    "alpha_replicates",
    "compute_agreement",
    "compute_effects",
    "compute_profiles",
    "format_agreement_table",
    "index_key",
    "interaction_tests",
    "kappa_replicates",
    "mean_of_coders",
    "natural_dimension_order",
    "pair_intervals",
    "prevalence_warning",
    "resample_weights",
    "smallest_p_value",
    "write_agreement",
]
