"""The run browser's page: ``page.html`` (inline CSS and JavaScript, no external resource)
with the ``ViewData`` embedded as JSON, and writing it as a static file.

This module owns making the data inert inside the page: the JSON goes into a
``<script type="application/json">`` block with every ``<``, ``>`` and ``&`` written as a JSON
unicode escape, so no transcript text can close the block or open markup, and the page's script
puts text on screen only as text nodes. What the data holds is ``data.py``'s.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path

from harness.rundir import write_bytes_atomic
from harness.view.data import ViewData

__all__ = ["json_for_script", "render_page", "write_page"]

_TEMPLATE = "page.html"
_PLACEHOLDERS = ("VIEW_JSON", "TITLE")


def json_for_script(value: object) -> str:
    """``value`` as JSON that is inert inside a ``<script>`` block."""
    # The HTML parser ends a script block at "</script" and treats "<!--" specially; with
    # "<", ">" and "&" escaped no text can do either, and JSON.parse reads them back.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(data: ViewData) -> str:
    """The browser for ``data`` as one self-contained HTML document."""
    template = resources.files("harness.view").joinpath(_TEMPLATE).read_text(encoding="utf-8")
    title = ("xstress run browser: blinded items" if data.blind
             else f"xstress run browser: {data.run_id}")
    values = {
        "VIEW_JSON": json_for_script(data.model_dump(mode="json", by_alias=True)),
        "TITLE": html.escape(title),
    }
    for name in _PLACEHOLDERS:
        if template.count("{{" + name + "}}") != 1:
            raise RuntimeError(f"{_TEMPLATE}: placeholder {{{{{name}}}}} must appear once")
    # One pass, so text in the data that looks like a placeholder stays as it is.
    return re.sub(r"\{\{(VIEW_JSON|TITLE)\}\}", lambda match: values[match.group(1)], template)


def write_page(data: ViewData, out: Path) -> Path:
    """Write the page to ``out`` atomically; returns ``out``.

    Raises:
        OutputError: the file cannot be written.
    """
    write_bytes_atomic(out, render_page(data).encode("utf-8"))
    return out
