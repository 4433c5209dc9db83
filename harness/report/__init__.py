"""The report stage: unblinds scores (the only reader of the key) into profiles, effects,
interaction tests and report.md/html, with the figures and tidy CSVs, under ``report/``.
``read_key`` is the one reader of the blinding key (the export unblinds through it too).

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
from harness.report.inputs import read_key

__all__ = [
    "Block",
    "Bullets",
    "Figure",
    "Heading",
    "Paragraph",
    "ReportSummary",
    "Table",
    "build_report",
    "read_key",
    "render_html",
    "render_markdown",
]
