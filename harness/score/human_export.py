"""Human coding, export: the coding packet a person fills in, as a CSV or an HTML form.

This module owns the packet. ``export_packet`` writes one for one coder: a CSV (one row per
item and dimension, level left empty, the item's reference notes and the packet id beside it)
or one self-contained HTML form (``form.html``) the coder opens in a browser (no server, no
network) that shows each blinded conversation with its reference notes beside the rubric,
codes by keyboard or mouse, loads a saved CSV back to continue, and saves a CSV in the same
format (``PACKET_COLUMNS``). It reads only the blinded items, through the score stage's guarded
reader (``store.py``: never the key). Reading a filled-in CSV back is ``human_import.py``'s.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from importlib import resources
from pathlib import Path
from typing import Literal

from harness.errors import InputError
from harness.rundir import BlindedItem, RunDir, write_bytes_atomic
from harness.schema import NAME_PATTERN, RubricSpec, canonical_json, content_hash
from harness.score.store import read_blinded_items

__all__ = [
    "PACKET_COLUMNS",
    "check_coder_name",
    "export_packet",
    "packet_id",
    "render_form",
]

PACKET_COLUMNS = (
    "blind_id",
    "scenario_id",
    "dimension",
    "dimension_name",
    "level",
    "null_reason",
    "notes",
    "reference_notes",
    "packet_id",
)
"""Columns of a coding packet CSV and of the CSV the HTML form saves.

The coder fills in ``level``, ``null_reason`` and ``notes`` (their own); the others are given.
``reference_notes`` (the scenario's notes for coders) and ``packet_id`` are informational: the
import ignores them, the form refuses a CSV whose ``packet_id`` names another packet."""

_FORM_TEMPLATE = "form.html"


def check_coder_name(coder: str) -> None:
    """Refuse a coder name that cannot name a file.

    Raises:
        InputError: the name is not letters, digits, '_', '-' or '.' (starting with a letter
            or digit), or is longer than 80 characters.
    """
    # The name becomes a file name (scores/<coder>.jsonl), so it must be a safe one.
    if not re.fullmatch(NAME_PATTERN, coder) or len(coder) > 80:
        raise InputError(
            f"coder name {coder!r} cannot be used as a file name",
            fix="use letters, digits, '_', '-' or '.', starting with a letter or digit",
        )


def export_packet(
    run_dir: Path,
    coder: str,
    fmt: Literal["csv", "html"],
    rubric: RubricSpec,
    out: Path | None = None,
) -> Path:
    """Write a coding packet for one coder.

    Args:
        run_dir: The run directory (its ``blind/items.jsonl`` is read; the key never is).
        coder: The coder's name; it names the packet and later ``scores/<coder>.jsonl``.
        fmt: ``csv`` (rows to fill in a spreadsheet) or ``html`` (a self-contained form).
        rubric: The rubric the coder applies.
        out: Output file, or a directory to write the default file name into. Default
            ``<run_dir>/coding/<coder>-packet.<fmt>``.

    Returns:
        The path written.

    Raises:
        InputError: Bad coder name, unknown format, or no blinded items.
        OutputError: The packet cannot be written.
    """
    check_coder_name(coder)
    if fmt not in ("csv", "html"):
        raise InputError(f"unknown packet format {fmt!r}", fix="use format=csv or format=html")
    items = read_blinded_items(RunDir(run_dir))
    default_name = f"{coder}-packet.{fmt}"
    if out is None:
        out = RunDir(run_dir).coding_dir / default_name
    elif out.is_dir():
        out = out / default_name
    if fmt == "csv":
        # The BOM lets spreadsheet programs recognise UTF-8; import strips it.
        data = ("\ufeff" + _packet_csv(items, rubric, packet_id(items, rubric))).encode("utf-8")
    else:
        data = render_form(items, rubric, coder).encode("utf-8")
    write_bytes_atomic(out, data)
    return out


def _packet_csv(items: list[BlindedItem], rubric: RubricSpec, the_packet_id: str) -> str:
    buffer = io.StringIO()
    # The form writes its CSV by column name too, so both stay in step with PACKET_COLUMNS.
    writer = csv.DictWriter(buffer, fieldnames=PACKET_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for item in items:
        for dimension in rubric.dimensions:
            writer.writerow({
                "blind_id": item.blind_id,
                "scenario_id": item.scenario_id,
                "dimension": dimension.id,
                "dimension_name": dimension.name,
                "level": "",
                "null_reason": "",
                "notes": "",
                "reference_notes": item.reference_notes,
                "packet_id": the_packet_id,
            })
    return buffer.getvalue()


def packet_id(items: list[BlindedItem], rubric: RubricSpec) -> str:
    """A short id for a packet's content: same items and rubric, same id (keys autosave)."""
    payload = {
        "rubric": content_hash(rubric),
        "items": [content_hash(item) for item in items],
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()[:16]


def render_form(items: list[BlindedItem], rubric: RubricSpec, coder: str) -> str:
    """Render the self-contained HTML coding form.

    Args:
        items: Blinded items to code, in the order the coder sees them.
        rubric: The rubric shown beside each conversation.
        coder: The coder's name (names the saved CSV and the autosave slot).

    Returns:
        The HTML document: inline CSS and JavaScript, the data embedded as JSON, no
        external resources.
    """
    data = {
        "schema": "xstress.coding_packet/1",
        "coder": coder,
        "packet_id": packet_id(items, rubric),
        "columns": list(PACKET_COLUMNS),
        "rubric": {
            "name": rubric.name,
            "description": rubric.description,
            "dimensions": [
                {
                    "id": dimension.id,
                    "name": dimension.name,
                    "definition": dimension.definition,
                    "levels": {str(level): dimension.levels[level] for level in (0, 1, 2)},
                    "not_applicable_when": dimension.not_applicable_when,
                }
                for dimension in rubric.dimensions
            ],
        },
        "items": [
            {
                "blind_id": item.blind_id,
                "scenario_id": item.scenario_id,
                "domain": item.domain,
                # Shown to coders as data (textContent), like the conversation.
                "reference_notes": item.reference_notes,
                # Coders must never see a system prompt; blinding drops them, this is a backstop.
                "messages": [
                    {"role": message.role, "content": message.content}
                    for message in item.messages
                    if message.role != "system"
                ],
            }
            for item in items
        ],
    }
    template = resources.files("harness.score").joinpath(_FORM_TEMPLATE).read_text(encoding="utf-8")
    values = {
        "PACKET_JSON": _json_for_script(data),
        "TITLE": html.escape(f"xstress coding: {coder} ({len(items)} items)"),
    }
    for name in values:
        if template.count("{{" + name + "}}") != 1:
            raise RuntimeError(f"{_FORM_TEMPLATE}: placeholder {{{{{name}}}}} must appear once")
    # One pass, so text inside the data that looks like a placeholder is left alone.
    return re.sub(r"\{\{(PACKET_JSON|TITLE)\}\}", lambda match: values[match.group(1)], template)


def _json_for_script(value: object) -> str:
    # Inside <script> the HTML parser ends the block at "</script" and treats "<!--" specially;
    # escaping every "<", ">" and "&" as JSON unicode escapes makes any text inert there.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
