"""Rendering the report's blocks as one self-contained HTML page: inline CSS, the PNG
figures embedded as base64 data URIs, and no external request (even the favicon is a data URI).
This module owns the HTML escaping (a Markdown link becomes an anchor) and the page's look; the
blocks and their wording come from the section modules, and ``blocks.py`` renders the same
blocks as Markdown.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from harness.report.blocks import Block, Bullets, Heading, Paragraph, Table

__all__ = ["render_html"]


# A Markdown link whose text may hold one level of brackets ("0.50 [0.12, 0.88] n=10"), as
# links.view_link writes it; the target's characters are those of a relative URL with a
# percent-encoded hash (``&`` already escaped), so no text can put a quote into the attribute.
_LINK = r"\[((?:[^\[\]]|\[[^\[\]]*\])+)\]\(([A-Za-z0-9._~%/#=&;,+-]+)\)"


def _html_inline(text: str) -> str:
    import re

    escaped = html.escape(text, quote=False)
    escaped = re.sub(_LINK, r'<a href="\2">\1</a>', escaped)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72rem;margin:2rem auto;
padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
.banner{background:#fff3cd;border:2px solid #b00020;padding:.6rem .8rem;font-weight:bold}
figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
code{background:#f2f2f2;padding:0 .2rem}
"""


def render_html(blocks: Sequence[Block], title: str) -> str:
    """The blocks as one self-contained HTML page titled ``title``."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{_html_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = ' class="banner"' if block.banner else ""
            out.append(f"<p{css}>{_html_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            out.append(
                "<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items) + "</ul>"
            )
        elif isinstance(block, Table):
            head = "".join(f"<th>{_html_inline(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode(block.png).decode("ascii")
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(block.alt)}"><figcaption>{html.escape(block.alt)}'
                "</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"
