"""Calibration: how often a judge gives the level a known-answer set was written to deserve.

``calibrate`` codes a calibration set (``configs/calibration/<name>/``) with one judge through
the score stage it is given and writes the figures (accuracy, quadratic-weighted kappa with a
bootstrap interval, confusion, the pairs it got wrong) to ``calibration/<judge>.json``;
``cite_calibrations`` copies a result into a run whose scores it covers (same judge and rubric
hashes) and says so in one line per judge; ``calibration_table`` and ``accuracy_line`` put a
result in words. It sits after ``stats`` and before ``report``: the report reads the copy in
the run directory, never this package nor ``calibration/``.
"""

from __future__ import annotations

from harness.calibrate.cite import cite_calibrations
from harness.calibrate.items import blind_id_for, calibration_items
from harness.calibrate.run import (
    DEFAULT_CALIBRATION_SET,
    Scorer,
    calibrate,
    result_path,
    results_dir,
    runs_dir,
)
from harness.calibrate.text import accuracy_line, calibration_table

__all__ = [
    "DEFAULT_CALIBRATION_SET",
    "Scorer",
    "accuracy_line",
    "blind_id_for",
    "calibrate",
    "calibration_items",
    "calibration_table",
    "cite_calibrations",
    "result_path",
    "results_dir",
    "runs_dir",
]
