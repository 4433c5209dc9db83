"""The report stage: unblinds scores (the only reader of the key) into profiles, effects,
interaction tests and report.md/html, with the figures and tidy CSVs, under ``report/``.
"""

from __future__ import annotations

from harness.report.build import ReportSummary, build_report

__all__ = [
    "ReportSummary",
    "build_report",
]
