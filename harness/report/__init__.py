"""The report stage: unblinds scores (the only reader of the key) into profiles, effects,
interaction tests and report.md/html, with the figures and tidy CSVs, under ``report/``.
``read_key`` is the one reader of the blinding key (the export unblinds through it too).
"""

from __future__ import annotations

from harness.report.build import ReportSummary, build_report
from harness.report.inputs import read_key

__all__ = [
    "ReportSummary",
    "build_report",
    "read_key",
]
