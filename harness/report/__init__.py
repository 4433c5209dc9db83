"""The report stage: unblinds scores (the only reader of the key) into profiles, effects,
report.md/html.
"""

from __future__ import annotations

from harness.report.build import build_report

__all__ = [
    "build_report",
]
