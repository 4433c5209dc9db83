"""The sweep stage: cells, planning and the async runner that records every conversation, and
what a prompt set can show (coverage of the rubric) and whether ``max_tokens`` leaves room for
a scaffold's reply, read before any sweep."""

from __future__ import annotations

from harness.sweep.cells import enumerate_cells, iter_cells, sweep_cells
from harness.sweep.compatibility import check_replay_source, check_resume
from harness.sweep.coverage import (
    ALL_LEVELS,
    DEFAULT_COVERAGE_THRESHOLD,
    PROBES,
    DimensionCoverage,
    PromptCoverage,
    ScenarioCoverage,
    prompt_coverage,
)
from harness.sweep.length_check import LengthWarning, length_warnings, tokens_needed
from harness.sweep.planning import CHARS_PER_TOKEN, make_plan
from harness.sweep.result import SweepResult
from harness.sweep.runner import run_dir_for, run_sweep
from harness.sweep.workers import die_with_parent, run_sweep_in_workers, run_sweep_stage

__all__ = [
    "ALL_LEVELS",
    "CHARS_PER_TOKEN",
    "DEFAULT_COVERAGE_THRESHOLD",
    "PROBES",
    "DimensionCoverage",
    "LengthWarning",
    "PromptCoverage",
    "ScenarioCoverage",
    "SweepResult",
    "check_replay_source",
    "check_resume",
    "die_with_parent",
    "enumerate_cells",
    "iter_cells",
    "length_warnings",
    "make_plan",
    "prompt_coverage",
    "run_dir_for",
    "run_sweep",
    "run_sweep_in_workers",
    "run_sweep_stage",
    "sweep_cells",
    "tokens_needed",
]
