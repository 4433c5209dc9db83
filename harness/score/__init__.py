"""The score stage: LLM judges, the heuristic coder and human coding of blinded items."""

from __future__ import annotations

from harness.score.human import export_packet, import_codes
from harness.score.stage import score_run

__all__ = [
    "export_packet",
    "import_codes",
    "score_run",
]
