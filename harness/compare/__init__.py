"""Comparing runs (``xstress compare``): checks that the runs follow one fixed-scaffolding
protocol, then writes their profiles and scaffold effects side by side, computed by the report's
own machinery, as compare.md, compare.html, profiles.csv and effects.csv.
"""

from __future__ import annotations

from harness.compare.build import ComparisonSummary, compare_runs, default_out_dir
from harness.compare.sides import EFFECT_COLUMNS, PROFILE_COLUMNS

__all__ = [
    "EFFECT_COLUMNS",
    "PROFILE_COLUMNS",
    "ComparisonSummary",
    "compare_runs",
    "default_out_dir",
]
