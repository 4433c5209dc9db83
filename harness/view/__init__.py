"""The run browser: a run's cells with their conversation, passes, calls, cost and every
coder's level, rationale and highlighted evidence quote, filtered in one self-contained page
(served on 127.0.0.1 or written as a static file); blinded, it shows only what coders see.
"""

from __future__ import annotations

from harness.view.build import view_page, write_view
from harness.view.data import ViewData, build_blinded_view_data, build_view_data
from harness.view.page import render_page
from harness.view.serve import ViewServer

__all__ = [
    "ViewData",
    "ViewServer",
    "build_blinded_view_data",
    "build_view_data",
    "render_page",
    "view_page",
    "write_view",
]
