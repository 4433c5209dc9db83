"""The sweep stage: cells, planning and the async runner that records every conversation."""

from __future__ import annotations

from harness.sweep.cells import enumerate_cells
from harness.sweep.planning import CHARS_PER_TOKEN, make_plan
from harness.sweep.result import SweepResult
from harness.sweep.runner import run_dir_for, run_sweep

__all__ = [
    "CHARS_PER_TOKEN",
    "SweepResult",
    "enumerate_cells",
    "make_plan",
    "run_dir_for",
    "run_sweep",
]
