"""The report as a list of blocks (heading, paragraph, bullets, table, figure) and their
Markdown rendering for ``report.md``. Sections build blocks; ``html.py`` renders the same
blocks as HTML, so the two files say the same thing. This module owns the block types and the
Markdown escaping of table cells; it formats no number (``tables.py``) and chooses no
wording (the section modules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Block", "Bullets", "Figure", "Heading", "Paragraph", "Table", "render_markdown"]


@dataclass(frozen=True)
class Heading:
    """A heading; ``level`` 1 is the title."""

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; a ``banner`` is a warning no reader should miss."""

    text: str
    banner: bool = False


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of text cells (numbers already formatted)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A PNG figure: written as ``filename``, embedded in the HTML page."""

    filename: str
    png: bytes
    alt: str


Block = Heading | Paragraph | Bullets | Table | Figure


def _md_inline(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown (``report.md``)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(f"**{block.text}**" if block.banner else block.text)
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            lines = [
                "| " + " | ".join(_md_inline(h) for h in block.header) + " |",
                "|" + "---|" * len(block.header),
            ]
            lines += ["| " + " | ".join(_md_inline(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
        else:
            out.append(f"![{block.alt}]({block.filename})")
    return "\n\n".join(out) + "\n"
