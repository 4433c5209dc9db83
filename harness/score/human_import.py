"""Human coding, import: a person's filled-in packet CSV in, ``scores/<coder>.jsonl`` out.

This module owns reading a coder's CSV back. ``import_codes`` validates it as a whole (every
row checked; any problem raises one error listing the rows, numbered as a spreadsheet shows
them) and then writes the coder's score file atomically, or nothing at all, storing the rubric
coded on beside it. It reads only the blinded items and the coder's own score file, through
the score stage's guarded reader (``store.py``: never the key). The packet format is
``human_export.py``'s; agreement between coders is ``harness.stats``'.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import InputError
from harness.rundir import BlindedItem, RunDir, ScoreRecord
from harness.schema import RubricSpec
from harness.score.human_export import PACKET_COLUMNS, check_coder_name
from harness.score.rubric import rubric_hash
from harness.score.store import (
    ScoreKey,
    existing_coder_kind,
    read_blinded_items,
    replace_scores,
    store_rubric,
)

__all__ = ["ImportSummary", "import_codes"]

_REQUIRED_COLUMNS = ("blind_id", "dimension", "level")
# Coders working in a spreadsheet write these for "not applicable"; a reason is still required.
_NULL_MARKERS = frozenset({"na", "n/a", "null", "none"})
_MAX_LISTED = 12
_LEVEL_HINT = "use 0, 1, 2 or blank with a reason for null"

_Code = tuple[int | None, str, str]
"""(level or None for null, null reason, notes) of one (item, dimension)."""


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
        csv_path: The coder's CSV (columns as in ``PACKET_COLUMNS``; header required; column
            order free). Only ``blind_id``, ``dimension``, ``level``, ``null_reason`` and
            ``notes`` are read: informational columns (``reference_notes``, ``packet_id``,
            ``scenario_id``, ``dimension_name``) and any others are ignored, whatever they hold.
        coder: The coder's name; the scores file is ``scores/<coder>.jsonl``.
        rubric: The rubric the coder applied (its hash is stored on every record, the rubric
            itself as ``scores/rubrics/<rubric_hash>.json``).
        replace: Overwrite an earlier import for this coder (refused otherwise).
        allow_partial: Accept a packet with items or dimensions left uncoded (blank level
            and blank reason, or rows absent) instead of refusing it.

    Returns:
        A summary of what was written.

    Raises:
        InputError: The CSV has problems (all listed), or the coder already has scores.
        OutputError: The scores file cannot be written.
    """
    check_coder_name(coder)
    layout = RunDir(run_dir)
    items = read_blinded_items(layout)
    existed = layout.scores(coder).exists()
    if existed:
        _check_replaceable(layout, coder, replace)
    rows = _read_rows(csv_path)
    records, n_missing = _validate(csv_path, rows, items, rubric, coder, allow_partial)
    # The rubric first: a score file on disk always has its rubric beside it.
    store_rubric(layout, rubric)
    target = replace_scores(layout, coder, records)
    return ImportSummary(
        coder=coder,
        path=target,
        n_items=len({record.blind_id for record in records}),
        n_scored=sum(record.status == "scored" for record in records),
        n_null=sum(record.status == "null" for record in records),
        n_missing=n_missing,
        replaced=existed,
    )


def _check_replaceable(run_dir: RunDir, coder: str, replace: bool) -> None:
    target = run_dir.scores(coder)
    kind = existing_coder_kind(run_dir, coder)
    if kind is not None and kind != "human":
        raise InputError(
            f"{target}: these are the scores of the {kind} coder {coder!r}",
            fix="choose another coder=NAME for the human coder",
        )
    if not replace:
        raise InputError(
            f"{target} already exists: codes for {coder!r} were imported before",
            fix="re-run with --replace to overwrite them, or use another coder=NAME",
        )


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


@dataclass
class _Reading:
    """What a coder's rows say, row by row: codes, pairs left blank, and problems."""

    item_ids: set[str]
    dimension_ids: list[str]
    rubric_name: str
    allow_partial: bool
    codes: dict[ScoreKey, _Code] = field(default_factory=dict)
    first_row: dict[ScoreKey, int] = field(default_factory=dict)
    """The row each (item, dimension) first appeared on."""
    skipped: set[ScoreKey] = field(default_factory=set)
    """Pairs left blank, accepted as uncoded with ``allow_partial``."""
    problems: dict[str, list[int]] = field(default_factory=dict)
    """Each problem's message and the rows it occurs on."""

    def flag(self, message: str, row_number: int) -> None:
        self.problems.setdefault(message, []).append(row_number)

    def read(self, row_number: int, row: dict[str, str]) -> None:
        """Take in one row: its code, or the problem with it."""
        if not any(row.values()):
            return
        key = self._key(row_number, row)
        if key is not None:
            self._code(row_number, row, key)

    def _key(self, row_number: int, row: dict[str, str]) -> ScoreKey | None:
        blind_id = row.get("blind_id", "")
        dimension = row.get("dimension", "").upper()
        if not blind_id:
            self.flag("blind_id is empty (copy it from the packet)", row_number)
            return None
        if blind_id not in self.item_ids:
            self.flag(
                f"unknown blind_id {blind_id!r} (not in blind/items.jsonl of this run; "
                "use the packet exported for this run)",
                row_number,
            )
            return None
        if dimension not in self.dimension_ids:
            self.flag(
                f"unknown dimension {dimension!r} (rubric {self.rubric_name} has "
                f"{', '.join(self.dimension_ids)})",
                row_number,
            )
            return None
        key = (blind_id, dimension)
        if key in self.first_row:
            self.flag(
                "the same blind_id and dimension as an earlier row (keep one of the rows)",
                row_number,
            )
            return None
        self.first_row[key] = row_number
        return key

    def _code(self, row_number: int, row: dict[str, str], key: ScoreKey) -> None:
        level_text = row.get("level", "")
        reason = row.get("null_reason", "")
        notes = row.get("notes", "")
        if level_text == "" or level_text.lower() in _NULL_MARKERS:
            if reason:
                self.codes[key] = (None, reason, notes)
            elif self.allow_partial and level_text == "":
                self.skipped.add(key)
            else:
                self.flag(
                    f"missing level for this dimension ({_LEVEL_HINT}; "
                    "import with --allow-partial to leave it uncoded)",
                    row_number,
                )
            return
        level = _parse_level(level_text)
        if level is None:
            self.flag(f"level {level_text!r} out of range 0-2 ({_LEVEL_HINT})", row_number)
        elif reason:
            self.flag("both a level and a null_reason (clear one of them)", row_number)
        else:
            self.codes[key] = (level, "", notes)


def _validate(
    csv_path: Path,
    rows: list[dict[str, str]],
    items: list[BlindedItem],
    rubric: RubricSpec,
    coder: str,
    allow_partial: bool,
) -> tuple[list[ScoreRecord], int]:
    """The records a CSV's rows make, and how many pairs stay uncoded.

    Raises:
        InputError: any problem, all of them listed in row order; or no code at all.
    """
    dimension_ids = [dimension.id for dimension in rubric.dimensions]
    reading = _Reading(item_ids={item.blind_id for item in items}, dimension_ids=dimension_ids,
                       rubric_name=rubric.name, allow_partial=allow_partial)
    for row_number, row in enumerate(rows, start=2):
        reading.read(row_number, row)
    messages = [
        f"{_rows_phrase(numbers)}: {message}"
        for message, numbers in sorted(reading.problems.items(), key=lambda entry: entry[1][0])
    ]
    expected = [(item.blind_id, dim) for item in items for dim in dimension_ids]
    absent = [key for key in expected if key not in reading.first_row]
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
    if not reading.codes:
        raise InputError(f"{csv_path}: no codes in the file", fix="code some items first")
    records = _records(expected, reading.codes, rubric, coder)
    return records, len(absent) + len(reading.skipped)


def _records(expected: list[ScoreKey], codes: dict[ScoreKey, _Code], rubric: RubricSpec,
             coder: str) -> list[ScoreRecord]:
    """One record per coded pair, in packet order."""
    scored_at = datetime.now(UTC).isoformat(timespec="seconds")
    the_rubric_hash = rubric_hash(rubric)
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
                rubric_hash=the_rubric_hash,
                scored_at=scored_at,
            )
        )
    return records


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
