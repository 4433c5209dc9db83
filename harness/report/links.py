"""Links from the report's numbers to the run browser (``xstress view``): a Markdown link to
``RunDir.view``, relative to ``report/`` so it resolves wherever the run directory is copied,
whose URL hash filters the browser to the cells behind the number
(``../view.html#model=a&scaffold=b,c&dimension=D3``). The browser's page reads the same keys;
``html.py`` turns the Markdown link into an anchor. The browser's file itself is written next
to the report by the pipeline's report stage (``xstress report``, ``xstress run``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import quote

from harness.rundir import RunDir

__all__ = ["view_link"]


def view_link(run_dir: RunDir, text: str, **filters: Sequence[str]) -> str:
    """``[text](../view.html#key=v1,v2&...)``: ``text`` linked to the run browser showing the
    cells whose ``key`` (model, scaffold, scenario, dimension, level, status, coder) is one of
    the values given; a filter with no value is left out."""
    target = os.path.relpath(run_dir.view, run_dir.report_dir).replace(os.sep, "/")
    parts = [f"{key}={','.join(quote(value, safe='') for value in values)}"
             for key, values in filters.items() if values]
    return f"[{text}]({target}#{'&'.join(parts)})"
