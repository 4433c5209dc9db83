"""The report stage: unblinds scores (with the run browser, the readers of the key) into
profiles, effects, interaction tests and report.md/html, with the figures and tidy CSVs, under
``report/``.

The block types and their Markdown and HTML renderings are public, so that other documents
(the benchmark audit, ``xstress compare``) read and look like the report; ``analyse_run`` gives a
run's report numbers, unworded, for documents built from several runs.
"""

from __future__ import annotations

from harness.report.analysis import analyse_run
from harness.report.blocks import (
    Block,
    Bullets,
    Figure,
    Heading,
    Paragraph,
    Table,
    render_markdown,
)
from harness.report.build import ReportSummary, build_report
from harness.report.context import ReportContext
from harness.report.html import render_html
from harness.report.tables import csv_bytes, format_interval, format_number

__all__ = [
    "Block",
    "Bullets",
    "Figure",
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
