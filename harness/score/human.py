"""Human coding: export a blinded coding packet, import a coder's codes as scores.

This module owns the human side of scoring. ``export_packet`` writes a packet for one coder:
a CSV (one row per item and dimension, level left empty) or one self-contained HTML form the
coder opens in a browser (no server, no network) that shows each blinded conversation beside
the rubric and saves a CSV in the same format. ``import_codes`` validates such a CSV as a whole
and writes ``scores/<coder>.jsonl`` atomically, or nothing at all. It reads only
``blind/items.jsonl`` (never the key) and a rubric; it does not run judges (``scoring.py``) and
does not compute agreement (``agreement.py``).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

from harness.errors import InputError
from harness.rundir import BlindedItem, ScoreRecord, write_bytes_atomic
from harness.schema import NAME_PATTERN, RubricSpec, canonical_json, content_hash
from harness.score.stage import read_blinded_items

__all__ = [
    "PACKET_COLUMNS",
    "ImportSummary",
    "export_packet",
    "import_codes",
    "packet_id",
    "read_blinded_items",
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
)
"""Columns of a coding packet CSV and of the CSV the HTML form saves."""

_REQUIRED_COLUMNS = ("blind_id", "dimension", "level")
# Coders working in a spreadsheet write these for "not applicable"; a reason is still required.
_NULL_MARKERS = frozenset({"na", "n/a", "null", "none"})
_MAX_LISTED = 12
_FORM_TEMPLATE = "form.html"
_LEVEL_HINT = "use 0, 1, 2 or blank with a reason for null"


@dataclass(frozen=True)
class ImportSummary:
    """What ``import_codes`` wrote."""

    coder: str
    path: Path
    """The scores file written (``scores/<coder>.jsonl``)."""
    n_items: int
    """Blinded items with at least one code."""
    n_scored: int
    """Records with a level 0-2."""
    n_null: int
    """Records marked not applicable (null, with a reason)."""
    n_missing: int
    """(item, dimension) pairs left uncoded; non-zero only with ``allow_partial``."""
    replaced: bool
    """True when an earlier import for this coder was overwritten."""


# --------------------------------------------------------------------------- reading items


def _check_coder_name(coder: str) -> None:
    # The name becomes a file name (scores/<coder>.jsonl), so it must be a safe one.
    if not re.fullmatch(NAME_PATTERN, coder) or len(coder) > 80:
        raise InputError(
            f"coder name {coder!r} cannot be used as a file name",
            fix="use letters, digits, '_', '-' or '.', starting with a letter or digit",
        )


# --------------------------------------------------------------------------- export


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
    _check_coder_name(coder)
    if fmt not in ("csv", "html"):
        raise InputError(f"unknown packet format {fmt!r}", fix="use --format csv or html")
    items = read_blinded_items(run_dir)
    default_name = f"{coder}-packet.{fmt}"
    if out is None:
        out = Path(run_dir) / "coding" / default_name
    elif out.is_dir():
        out = out / default_name
    if fmt == "csv":
        # The BOM lets spreadsheet programs recognise UTF-8; import strips it.
        data = ("\ufeff" + _packet_csv(items, rubric)).encode("utf-8")
    else:
        data = render_form(items, rubric, coder).encode("utf-8")
    write_bytes_atomic(out, data)
    return out


def _packet_csv(items: list[BlindedItem], rubric: RubricSpec) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PACKET_COLUMNS)
    for item in items:
        for dimension in rubric.dimensions:
            writer.writerow(
                [item.blind_id, item.scenario_id, dimension.id, dimension.name, "", "", ""]
            )
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


# --------------------------------------------------------------------------- import


def import_codes(
    run_dir: Path,
    csv_path: Path,
    coder: str,
    rubric: RubricSpec,
    *,
    replace: bool = False,
    allow_partial: bool = False,
) -> ImportSummary:
    """Validate a coder's CSV and write ``scores/<coder>.jsonl``, all or nothing.

    Every row is checked before anything is written; any problem raises one error listing the
    rows (numbered as a spreadsheet shows them, the header being row 1) and nothing is
    imported. A blank level with a ``null_reason`` is a null (not applicable) code.

    Args:
        run_dir: The run directory whose ``blind/items.jsonl`` the codes refer to.
        csv_path: The coder's CSV (columns as in ``PACKET_COLUMNS``; header required; extra
            columns ignored; column order free).
        coder: The coder's name; the scores file is ``scores/<coder>.jsonl``.
        rubric: The rubric the coder applied (its hash is stored on every record).
        replace: Overwrite an earlier import for this coder (refused otherwise).
        allow_partial: Accept a packet with items or dimensions left uncoded (blank level
            and blank reason, or rows absent) instead of refusing it.

    Returns:
        A summary of what was written.

    Raises:
        InputError: The CSV has problems (all listed), or the coder already has scores.
        OutputError: The scores file cannot be written.
    """
    _check_coder_name(coder)
    items = read_blinded_items(run_dir)
    target = Path(run_dir) / "scores" / f"{coder}.jsonl"
    existed = target.exists()
    if existed:
        kind = _existing_coder_kind(target)
        if kind is not None and kind != "human":
            raise InputError(
                f"{target}: these are the scores of the {kind} coder {coder!r}",
                fix="choose another --coder name for the human coder",
            )
        if not replace:
            raise InputError(
                f"{target} already exists: codes for {coder!r} were imported before",
                fix="re-run with --replace to overwrite them, or use another --coder name",
            )
    rows = _read_rows(csv_path)
    records, n_missing = _validate(csv_path, rows, items, rubric, coder, allow_partial)
    lines = "".join(record.model_dump_json(by_alias=True) + "\n" for record in records)
    write_bytes_atomic(target, lines.encode("utf-8"))
    return ImportSummary(
        coder=coder,
        path=target,
        n_items=len({record.blind_id for record in records}),
        n_scored=sum(record.status == "scored" for record in records),
        n_null=sum(record.status == "null" for record in records),
        n_missing=n_missing,
        replaced=existed,
    )


def _existing_coder_kind(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
        kind = json.loads(first).get("coder_kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def _read_rows(csv_path: Path) -> list[dict[str, str]]:
    try:
        with Path(csv_path).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            table = list(reader)
    except FileNotFoundError:
        raise InputError(f"{csv_path}: no such file", fix="check the path") from None
    except UnicodeDecodeError:
        raise InputError(
            f"{csv_path}: not UTF-8 text", fix="save the sheet as 'CSV UTF-8' and import again"
        ) from None
    except csv.Error as exc:
        raise InputError(f"{csv_path}: not a readable CSV ({exc})", fix="save it as CSV") from None
    except OSError as exc:
        raise InputError(f"{csv_path}: cannot be read ({exc.strerror})", fix="check it") from None
    if not table:
        raise InputError(f"{csv_path}: empty file", fix="save the coded packet as CSV")
    header = [name.strip().lower() for name in table[0]]
    absent = [name for name in _REQUIRED_COLUMNS if name not in header]
    if absent:
        raise InputError(
            f"{csv_path}: the header row lacks column(s) {', '.join(absent)}",
            fix=f"keep the packet's header row: {','.join(PACKET_COLUMNS)}",
        )
    rows: list[dict[str, str]] = []
    for cells in table[1:]:
        row: dict[str, str] = {}
        for name, cell in zip(header, cells, strict=False):
            # With a duplicated column name the first one counts, as a reader would expect.
            row.setdefault(name, cell.strip())
        rows.append(row)
    return rows


def _validate(
    csv_path: Path,
    rows: list[dict[str, str]],
    items: list[BlindedItem],
    rubric: RubricSpec,
    coder: str,
    allow_partial: bool,
) -> tuple[list[ScoreRecord], int]:
    item_ids = {item.blind_id for item in items}
    dimension_ids = [dimension.id for dimension in rubric.dimensions]
    problems: dict[str, list[int]] = {}
    first_row: dict[tuple[str, str], int] = {}
    codes: dict[tuple[str, str], tuple[int | None, str, str]] = {}
    skipped: set[tuple[str, str]] = set()

    def flag(message: str, row_number: int) -> None:
        problems.setdefault(message, []).append(row_number)

    for row_number, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        blind_id = row.get("blind_id", "")
        dimension = row.get("dimension", "").upper()
        if not blind_id:
            flag("blind_id is empty (copy it from the packet)", row_number)
            continue
        if blind_id not in item_ids:
            flag(
                f"unknown blind_id {blind_id!r} (not in blind/items.jsonl of this run; "
                "use the packet exported for this run)",
                row_number,
            )
            continue
        if dimension not in dimension_ids:
            flag(
                f"unknown dimension {dimension!r} (rubric {rubric.name} has "
                f"{', '.join(dimension_ids)})",
                row_number,
            )
            continue
        key = (blind_id, dimension)
        if key in first_row:
            flag(
                "the same blind_id and dimension as an earlier row (keep one of the rows)",
                row_number,
            )
            continue
        first_row[key] = row_number
        level_text = row.get("level", "")
        reason = row.get("null_reason", "")
        notes = row.get("notes", "")
        if level_text == "" or level_text.lower() in _NULL_MARKERS:
            if reason:
                codes[key] = (None, reason, notes)
            elif allow_partial and level_text == "":
                skipped.add(key)
            else:
                flag(
                    f"missing level for this dimension ({_LEVEL_HINT}; "
                    "import with --allow-partial to leave it uncoded)",
                    row_number,
                )
            continue
        level = _parse_level(level_text)
        if level is None:
            flag(f"level {level_text!r} out of range 0-2 ({_LEVEL_HINT})", row_number)
        elif reason:
            flag("both a level and a null_reason (clear one of them)", row_number)
        else:
            codes[key] = (level, "", notes)

    messages = [
        f"{_rows_phrase(numbers)}: {message}"
        for message, numbers in sorted(problems.items(), key=lambda entry: entry[1][0])
    ]
    expected = [(item.blind_id, dim) for item in items for dim in dimension_ids]
    absent = [key for key in expected if key not in first_row]
    if absent and not allow_partial:
        messages.append(
            f"missing from the file: {_absent_phrase(absent, items, dimension_ids)} (a packet "
            "must cover every item and dimension; export a fresh packet, or import with "
            "--allow-partial)"
        )
    if messages:
        raise InputError(
            f"{csv_path}: " + "; ".join(messages),
            fix="nothing was imported; correct the file and import it again",
        )
    if not codes:
        raise InputError(f"{csv_path}: no codes in the file", fix="code some items first")

    scored_at = datetime.now(UTC).isoformat(timespec="seconds")
    rubric_hash = content_hash(rubric)
    records: list[ScoreRecord] = []
    for key in expected:
        if key not in codes:
            continue
        level, reason, notes = codes[key]
        records.append(
            ScoreRecord(
                blind_id=key[0],
                dimension=key[1],
                coder=coder,
                coder_kind="human",
                status="scored" if level is not None else "null",
                level=level,
                reason=reason or None,
                rationale=notes or None,
                rubric_hash=rubric_hash,
                scored_at=scored_at,
            )
        )
    return records, len(absent) + len(skipped)


def _parse_level(text: str) -> int | None:
    # Spreadsheets sometimes turn 1 into 1.0; accept that, nothing looser.
    match = re.fullmatch(r"([0-9]+)(?:\.0*)?", text)
    if match is None:
        return None
    level = int(match.group(1))
    return level if level in (0, 1, 2) else None


def _rows_phrase(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    shown = ", ".join(str(number) for number in numbers[:_MAX_LISTED])
    more = len(numbers) - _MAX_LISTED
    return f"rows {shown}" + (f" and {more} more" if more > 0 else "")


def _absent_phrase(
    absent: list[tuple[str, str]], items: list[BlindedItem], dimension_ids: list[str]
) -> str:
    by_item: dict[str, list[str]] = {}
    for blind_id, dimension in absent:
        by_item.setdefault(blind_id, []).append(dimension)
    order = [item.blind_id for item in items if item.blind_id in by_item]
    parts = []
    for blind_id in order[:_MAX_LISTED]:
        dims = by_item[blind_id]
        parts.append(
            f"{blind_id} (all dimensions)"
            if len(dims) == len(dimension_ids)
            else f"{blind_id} {' '.join(dims)}"
        )
    more = len(order) - _MAX_LISTED
    return ", ".join(parts) + (f" and {more} more items" if more > 0 else "")


# --------------------------------------------------------------------------- writing
