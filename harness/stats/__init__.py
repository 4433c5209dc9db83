"""Statistics over scores: the score matrix, profiles and effects, the interaction test, agreement.
"""

from __future__ import annotations

from harness.stats.agreement import compute_agreement, format_agreement_table, write_agreement
from harness.stats.effects import EffectRow, ProfileRow
from harness.stats.interaction import InteractionRow
from harness.stats.score_matrix import Design, ScoreMatrix

__all__ = [
    "Design",
    "EffectRow",
    "InteractionRow",
    "ProfileRow",
    "ScoreMatrix",
    "compute_agreement",
    "format_agreement_table",
    "write_agreement",
]
