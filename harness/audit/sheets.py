"""Reading audit sheets and benchmark lists, and writing the empty template: the one reader.

An audit sheet is CSV (a header row, then one row per benchmark and coder) or YAML (a list of
mappings with the same keys). Columns: ``benchmark``, ``source``, ``evidence_level``,
``coder``, one per rubric dimension (``D1`` ... ``D8``), ``note``. Every problem in every
sheet is collected and raised together as ``SheetProblems``, one line each naming the file,
the row, the column and the fix, so a coder fixes a sheet in one pass; nothing is computed from
a sheet with a problem. This module does not compare coders (``agreement.py``) or build the
coverage matrix (``coverage.py``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from harness.audit.records import EVIDENCE_LEVELS, BenchmarkList, EvidenceLevel, SheetRow
from harness.config import display_path, read_yaml, validate_spec
from harness.errors import ConfigError, OutputError

__all__ = [
    "SHEET_SUFFIXES",
    "SheetProblems",
    "read_benchmark_list",
    "read_sheets",
    "sheet_columns",
    "template_text",
    "write_new_file",
]

SHEET_SUFFIXES = (".csv", ".yaml", ".yml")
_LEVEL_TEXT = {"0": 0, "1": 1, "2": 2}
_FIX_LEVEL = "write 0 (not measured), 1 (partially or indirectly) or 2 (substantively)"


class SheetProblems(ConfigError):
    """Every problem found in the sheets; ``problems`` holds one ``ConfigError`` each."""

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        first = problems[0]
        more = len(problems) - 1
        suffix = f" (+{more} more problem{'s' if more > 1 else ''} in the sheets)" if more else ""
        super().__init__(first.message + suffix, fix=first.fix)
        self.problems = tuple(problems)


def sheet_columns(dimensions: Sequence[str]) -> tuple[str, ...]:
    """The columns of an audit sheet, in template order."""
    return ("benchmark", "source", "evidence_level", "coder", *dimensions, "note")


def read_benchmark_list(path: Path) -> BenchmarkList:
    """A benchmark list file, validated; names must be unique.

    Raises:
        ConfigError: the file is missing, not YAML, or a field is wrong (naming it).
    """
    where = display_path(path)
    listing = validate_spec(BenchmarkList, read_yaml(path), where)
    seen: set[str] = set()
    for index, entry in enumerate(listing.benchmarks, start=1):
        if entry.name.casefold() in seen:
            raise ConfigError(f"{where}: benchmarks entry {index}: {entry.name!r} is listed twice",
                              fix="keep one entry per benchmark")
        seen.add(entry.name.casefold())
    return listing


def template_text(listing: BenchmarkList, dimensions: Sequence[str], *, coder: str = "",
                  fmt: str = "csv") -> str:
    """An empty audit sheet for ``listing``: sources and evidence levels filled in from the
    list, every code empty (codes are the coders' to give).

    Args:
        listing: the benchmarks.
        dimensions: the rubric's dimension ids (one column each).
        coder: written in every row's ``coder`` column when given.
        fmt: ``csv`` or ``yaml``.
    """
    rows = [{"benchmark": entry.name, "source": entry.source or "",
             "evidence_level": entry.evidence_level or "", "coder": coder,
             **dict.fromkeys(dimensions, ""), "note": entry.note} for entry in listing.benchmarks]
    if fmt == "yaml":
        import yaml

        entries = [{key: (None if value == "" and key in dimensions else value)
                    for key, value in row.items()} for row in rows]
        return yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=sheet_columns(dimensions), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_sheets(paths: Sequence[Path], dimensions: Sequence[str]) -> list[SheetRow]:
    """Every row of every sheet, checked; a benchmark may appear once per coder overall.

    Raises:
        SheetProblems: one ``ConfigError`` per problem (file, row, column, fix), all of them.
    """
    problems: list[ConfigError] = []
    rows: list[SheetRow] = []
    first_seen: dict[tuple[str, str], SheetRow] = {}
    spelling: dict[str, SheetRow] = {}
    for path in paths:
        for row in _read_one(path, dimensions, problems):
            # "Alice" and "alice" are one coder misspelt, not two coders to compare.
            first = spelling.setdefault(row.coder.casefold(), row)
            if first.coder != row.coder:
                problems.append(ConfigError(
                    f"{row.file}: row {row.row}, column coder: {row.coder!r} differs from "
                    f"{first.coder!r} ({first.file} row {first.row}) only in case",
                    fix="spell each coder's name the same way everywhere"))
                spelling[row.coder.casefold()] = row
            key = (row.benchmark.casefold(), row.coder.casefold())
            if key in first_seen:
                earlier = first_seen[key]
                problems.append(ConfigError(
                    f"{row.file}: row {row.row}, column benchmark: {row.benchmark!r} coded "
                    f"again by coder {row.coder!r} (first at {earlier.file} row {earlier.row})",
                    fix="keep one row per benchmark and coder"))
                continue
            first_seen[key] = row
            rows.append(row)
    if problems:
        raise SheetProblems(problems)
    return rows


def _read_one(path: Path, dimensions: Sequence[str],
              problems: list[ConfigError]) -> list[SheetRow]:
    where = display_path(path)
    if path.suffix.lower() not in SHEET_SUFFIXES:
        problems.append(ConfigError(f"{where}: not an audit sheet (expected .csv or .yaml)",
                                    fix="give the sheet as CSV or YAML, as the template writes"))
        return []
    if path.suffix.lower() == ".csv":
        table = _csv_table(path, where, problems)
    else:
        table = _yaml_table(path, where, problems)
    if table is None:
        return []
    # Column names are matched whatever their case (a spreadsheet may write "Benchmark", "d1").
    canonical = {column.casefold(): column for column in sheet_columns(dimensions)}
    columns = [canonical.get(column.casefold(), column) for column in table[0]]
    records = [(number, {canonical.get(key.casefold(), key): value
                         for key, value in record.items()}) for number, record in table[1]]
    # A CSV sheet's columns are its first row; a YAML sheet's are the keys of its rows.
    header = f"{where}: row 1, " if path.suffix.lower() == ".csv" else f"{where}: "
    if len(columns) == 1 and ";" in columns[0]:
        problems.append(ConfigError(f"{header}cells are separated by ';', not ','",
                                    fix="save the sheet as comma-separated CSV"))
        return []
    if not _check_columns(header, columns, dimensions, problems):
        return []
    rows = []
    for number, record in records:
        if all(not str(value or "").strip() for value in record.values()):
            continue  # a blank line at the end of a spreadsheet export
        row = _row(where, number, record, dimensions, problems)
        if row is not None:
            rows.append(row)
    return rows


Table = tuple[list[str], list[tuple[int, Mapping[str, Any]]]]


def _csv_table(path: Path, where: str, problems: list[ConfigError]) -> Table | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append(ConfigError(f"{where}: file not found", fix="check the path"))
        return None
    except UnicodeDecodeError:
        problems.append(ConfigError(f"{where}: is not UTF-8 text", fix="save the sheet as UTF-8"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = list(reader)
    if not lines:
        problems.append(ConfigError(f"{where}: row 1: the sheet is empty",
                                    fix="start from 'xstress audit template'"))
        return None
    header = [cell.strip() for cell in lines[0]]
    records: list[tuple[int, Mapping[str, Any]]] = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            problems.append(ConfigError(
                f"{where}: row {number}: {len(cells)} cells for {len(header)} columns",
                fix="quote cells that contain commas"))
            continue
        records.append((number, dict(zip(header, cells, strict=False))))
    return header, records


def _yaml_table(path: Path, where: str, problems: list[ConfigError]) -> Table | None:
    try:
        data = read_yaml(path)
    except ConfigError as exc:
        problems.append(exc)
        return None
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        problems.append(ConfigError(f"{where}: expected a list of rows (mappings)",
                                    fix="write one '- benchmark: ...' entry per row"))
        return None
    columns: list[str] = []
    for entry in cast(list[dict[Any, Any]], data):
        columns.extend(str(key) for key in entry if str(key) not in columns)
    return columns, [(number, {str(k): v for k, v in entry.items()})
                     for number, entry in enumerate(data, start=1)]


def _check_columns(header: str, columns: Iterable[str], dimensions: Sequence[str],
                   problems: list[ConfigError]) -> bool:
    """Unknown and repeated columns are problems; a missing required column stops the sheet."""
    known = set(sheet_columns(dimensions))
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            problems.append(ConfigError(f"{header}column {column}: appears twice",
                                        fix="keep one column of each name"))
        seen.add(column)
        if column in known:
            continue
        if column[:1] in ("D", "d") and column[1:].isdigit():
            problems.append(ConfigError(
                f"{header}column {column}: unknown dimension (the rubric's are "
                f"{', '.join(dimensions)})", fix=f"remove column {column} or pick the rubric "
                                                 "that defines it (rubric=NAME)"))
        else:
            problems.append(ConfigError(
                f"{header}column {column!r}: unknown column",
                fix=f"columns are {', '.join(sheet_columns(dimensions))}"))
    missing = [c for c in sheet_columns(dimensions) if c not in seen and c not in ("source",
                                                                                   "note")]
    for column in missing:
        problems.append(ConfigError(f"{header}column {column}: missing",
                                    fix="add the column (start from 'xstress audit template')"))
    return not missing


def _row(where: str, number: int, record: Mapping[str, Any], dimensions: Sequence[str],
         problems: list[ConfigError]) -> SheetRow | None:
    def cell(column: str) -> str:
        value = record.get(column)
        return "" if value is None else str(value).strip()

    found: list[ConfigError] = []

    def problem(column: str, what: str, fix: str) -> None:
        found.append(ConfigError(f"{where}: row {number}, column {column}: {what}", fix=fix))

    benchmark, coder, evidence = cell("benchmark"), cell("coder"), cell("evidence_level")
    if not benchmark:
        problem("benchmark", "empty", "give the benchmark's name, as in the benchmark list")
    if not coder:
        problem("coder", "empty", "write the coder's name (coder=NAME on 'xstress audit "
                                  "template' fills it in)")
    if evidence not in EVIDENCE_LEVELS:
        shown = f"{evidence!r} is not an evidence level" if evidence else "empty"
        problem("evidence_level", shown, f"write one of {', '.join(EVIDENCE_LEVELS)}")
    levels: dict[str, int] = {}
    for dimension in dimensions:
        text = cell(dimension)
        if text in _LEVEL_TEXT:
            levels[dimension] = _LEVEL_TEXT[text]
        elif not text:
            problem(dimension, "not coded (empty)", _FIX_LEVEL)
        else:
            problem(dimension, f"level {text} is not 0, 1 or 2", _FIX_LEVEL)
    problems.extend(found)
    if found:
        return None
    return SheetRow(benchmark=benchmark, source=cell("source"),
                    evidence_level=cast(EvidenceLevel, evidence), coder=coder, levels=levels,
                    note=cell("note"), file=where, row=number)


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, which must not exist yet (a coder's sheet is never
    overwritten)."""
    try:
        with path.open("x", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except FileExistsError:
        raise OutputError(f"{display_path(path)}: already exists; a filled-in sheet is never "
                          "overwritten", fix="give another out=FILE, or move the file") from None
    except OSError as exc:
        raise OutputError(f"{display_path(path)}: cannot be written ({exc.strerror or exc})",
                          fix="check that the folder exists and is writable") from None
