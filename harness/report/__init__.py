"""The report stage: unblinds scores (the only reader of the key) into profiles, effects,
interaction tests and report.md/html, with the figures and tidy CSVs, under ``report/``.
The block types and their Markdown and HTML renderings are public too, so that another report
(the benchmark audit's) reads and looks like this one.
"""

from __future__ import annotations

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
from harness.report.html import render_html

__all__ = [
    "Block",
    "Bullets",
    "Figure",
    "Heading",
    "Paragraph",
    "ReportSummary",
    "Table",
    "build_report",
    "render_html",
    "render_markdown",
]
