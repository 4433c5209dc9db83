"""Statistics over scores: the score matrix, profiles and effects, the interaction test, agreement.

``score_matrix`` joins the blinding key with the scores; ``profiles``, ``effects`` and
``interaction`` are the report's estimates (intervals from ``bootstrap``); ``coder_scores``,
``agreement``, ``agreement_intervals`` (bootstrap intervals over items, also usable for any
two columns of levels, e.g. a judge against intended levels) and ``agreement_output`` are
``xstress agree``. Pure maths apart from agreement's own score reading and its files under
``report/``.
"""

from __future__ import annotations

from harness.stats.agreement import AgreementResult, compute_agreement
from harness.stats.agreement_intervals import AgreementInterval, pair_intervals
from harness.stats.agreement_output import format_agreement_table, write_agreement
from harness.stats.effects import EffectRow, compute_effects
from harness.stats.interaction import InteractionRow, interaction_tests
from harness.stats.profiles import ProfileRow, compute_profiles
from harness.stats.score_matrix import (
    STATUS_NULL,
    STATUS_UNSCORED,
    Design,
    ScoreMatrix,
    ScoreMatrixBuilder,
    index_key,
    mean_of_coders,
    natural_dimension_order,
)

__all__ = [
    "STATUS_NULL",
    "STATUS_UNSCORED",
    "AgreementInterval",
    "AgreementResult",
    "Design",
    "EffectRow",
    "InteractionRow",
    "ProfileRow",
    "ScoreMatrix",
    "ScoreMatrixBuilder",
    "compute_agreement",
    "compute_effects",
    "compute_profiles",
    "format_agreement_table",
    "index_key",
    "interaction_tests",
    "mean_of_coders",
    "natural_dimension_order",
    "pair_intervals",
    "write_agreement",
]
