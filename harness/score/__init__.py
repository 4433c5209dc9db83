"""The score stage: LLM judges, the heuristic coder and human coding of blinded items.

``score_run`` codes every blinded item with each judge into ``scores/<judge>.jsonl`` (LLM
judges in ``JudgeWorkers`` processes when asked);
``export_packet`` and ``import_codes`` take a person's codes through a CSV or an HTML form.
Both store the rubric they coded on as ``scores/rubrics/<rubric_hash>.json``.
"""

from __future__ import annotations

from harness.score.human_export import export_packet
from harness.score.human_import import ImportSummary, import_codes
from harness.score.judges import FamilyMatchWarning
from harness.score.stage import CoderSummary, ScoringSummary, score_run
from harness.score.workers import JudgeWorkers

__all__ = [
    "CoderSummary",
    "FamilyMatchWarning",
    "ImportSummary",
    "JudgeWorkers",
    "ScoringSummary",
    "export_packet",
    "import_codes",
    "score_run",
]
