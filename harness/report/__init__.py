"""The report stage: unblinds scores (the only reader of the key) into profiles, effects,
interaction tests and report.md/html, with the figures and tidy CSVs, under ``report/``.

``analyse_run`` (a run's report numbers, unworded) and the rendering pieces (blocks, Markdown,
HTML, number formats, tidy CSVs) are public for documents built from several runs' reports
(``xstress compare``).
"""

from __future__ import annotations

from harness.report.analysis import analyse_run
from harness.report.blocks import Block, Bullets, Heading, Paragraph, Table, render_markdown
from harness.report.build import ReportSummary, build_report
from harness.report.context import ReportContext
from harness.report.html import render_html
from harness.report.tables import csv_bytes, format_interval, format_number

__all__ = [
    "Block",
    "Bullets",
    "Heading",
    "Paragraph",
    "ReportContext",
    "ReportSummary",
    "Table",
    "analyse_run",
    "build_report",
    "csv_bytes",
    "format_interval",
    "format_number",
    "render_html",
    "render_markdown",
]
