"""``xstress audit``'s work: read the sheets, compare the coders, build the coverage matrix and
write the audit's files.

Files, all under the output folder (default ``audit/`` next to the first sheet):
``audit.md`` and ``audit.html`` (self-contained, the heatmap embedded), ``coverage.png``,
``coverage.csv``, ``agreement.csv`` and ``disagreements.csv``. Every file is replaced
atomically, and only after every sheet has been read without a problem, so a bad sheet leaves
an earlier audit intact. This module wires the steps; each step lives in its own module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from harness.audit.agreement import audit_agreement
from harness.audit.coverage import AuditCoverage, build_coverage
from harness.audit.plots import coverage_heatmap
from harness.audit.records import CoverageCell, Disagreement, SheetRow
from harness.audit.report import AuditFacts, audit_blocks, figure_title
from harness.audit.sheets import SheetProblems, read_sheets
from harness.config import display_path
from harness.errors import ConfigError, OutputError
from harness.report import render_html, render_markdown
from harness.rundir import AGREEMENT_COLUMNS, AgreementRow, write_bytes_atomic
from harness.schema import RubricSpec

__all__ = ["AuditSummary", "run_audit"]


@dataclass(frozen=True)
class AuditSummary:
    """What ``run_audit`` wrote and found."""

    out_dir: Path
    coders: tuple[str, ...]
    adjudicated: bool
    coverage: AuditCoverage
    agreement: tuple[AgreementRow, ...]

    @property
    def report_html(self) -> Path:
        """The HTML report."""
        return self.out_dir / "audit.html"


def run_audit(sheets: Sequence[Path], *, rubric: RubricSpec, adjudicated: Path | None = None,
              out_dir: Path | None = None, n_boot: int = 2000,
              seed: int = 0) -> AuditSummary:
    """Audit the coded sheets and write the report and tables.

    Args:
        sheets: the coders' sheets (CSV or YAML); at least one.
        rubric: the rubric whose dimensions are the sheets' columns.
        adjudicated: a sheet of adjudicated codes (same format), or None.
        out_dir: where to write; default ``audit/`` next to the first sheet.
        n_boot: bootstrap resamples per agreement interval.
        seed: the resampling's seed.

    Raises:
        SheetProblems: every problem in the sheets, one line each (nothing is written).
        ConfigError: no sheet, or ``n_boot`` below 1.
        OutputError: the output folder cannot be written.
    """
    if not sheets:
        raise ConfigError("xstress audit: no sheet given", fix="xstress audit SHEET [SHEET ...]")
    if n_boot < 1:
        raise ConfigError(f"n_boot={n_boot}: intervals need at least one resample",
                          fix="give n_boot=2000 (the default) or another positive number")
    dimensions = [dimension.id for dimension in rubric.dimensions]
    rows, settled = _read_all(sheets, adjudicated, dimensions)
    coverage = build_coverage(rows, settled, dimensions)
    agreement = audit_agreement(rows, dimensions, n_boot=n_boot, seed=seed)
    facts = AuditFacts(rows=tuple(rows), adjudicated=tuple(settled),
                       adjudicated_file=None if adjudicated is None else display_path(adjudicated),
                       rubric=rubric.name,
                       dimension_names={d.id: d.name for d in rubric.dimensions},
                       n_boot=n_boot, seed=seed)
    heatmap = coverage_heatmap(coverage.benchmarks, dimensions, facts.dimension_names,
                               figure_title(facts))
    blocks = audit_blocks(facts, coverage, agreement, heatmap, dimensions)
    out = out_dir if out_dir is not None else sheets[0].parent / "audit"
    _write(out, {
        "coverage.png": heatmap,
        "coverage.csv": _csv(CoverageCell, coverage.cells),
        "agreement.csv": _agreement_csv(agreement),
        "disagreements.csv": _csv(Disagreement, coverage.disagreements),
        "audit.md": render_markdown(blocks).encode("utf-8"),
        "audit.html": render_html(blocks, "xstress benchmark audit").encode("utf-8"),
    })
    return AuditSummary(out_dir=out, coders=tuple(sorted({row.coder for row in rows})),
                        adjudicated=bool(settled), coverage=coverage,
                        agreement=tuple(agreement))


def _read_all(sheets: Sequence[Path], adjudicated: Path | None,
              dimensions: Sequence[str]) -> tuple[list[SheetRow], list[SheetRow]]:
    """The coders' rows and the adjudicated rows; the problems of both, raised together."""
    problems: list[ConfigError] = []
    rows: list[SheetRow] = []
    settled: list[SheetRow] = []
    try:
        rows = read_sheets(sheets, dimensions)
    except SheetProblems as exc:
        problems.extend(exc.problems)
    if adjudicated is not None:
        if any(adjudicated.resolve() == sheet.resolve() for sheet in sheets):
            problems.append(ConfigError(
                f"{display_path(adjudicated)}: given both as a coder's sheet and as "
                "adjudicated=", fix="give the adjudicated sheet only as adjudicated=FILE"))
        else:
            try:
                settled = read_sheets([adjudicated], dimensions)
            except SheetProblems as exc:
                problems.extend(exc.problems)
            problems.extend(_one_per_benchmark(settled))
    if problems:
        raise SheetProblems(problems)
    return rows, settled


def _one_per_benchmark(settled: Iterable[SheetRow]) -> list[ConfigError]:
    seen: dict[str, SheetRow] = {}
    problems = []
    for row in settled:
        first = seen.setdefault(row.benchmark.casefold(), row)
        if first is not row:
            problems.append(ConfigError(
                f"{row.file}: row {row.row}, column benchmark: {row.benchmark!r} adjudicated "
                f"again (first at row {first.row})",
                fix="an adjudicated sheet holds one row per benchmark"))
    return problems


def _csv(model: type[BaseModel], records: Iterable[BaseModel]) -> bytes:
    """One row per record, the model's fields as columns (a header even with no record)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = list(model.model_fields)
    writer.writerow(fields)
    for record in records:
        values = record.model_dump()
        writer.writerow(["" if values[f] is None else values[f] for f in fields])
    return buffer.getvalue().encode("utf-8")


def _agreement_csv(rows: Iterable[AgreementRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGREEMENT_COLUMNS)
    writer.writerows(row.csv_cells() for row in rows)
    return buffer.getvalue().encode("utf-8")


def _write(out: Path, files: dict[str, bytes]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_bytes_atomic(out / name, data)
    except OSError as exc:
        raise OutputError(f"{display_path(out)}: cannot write the audit ({exc.strerror or exc})",
                          fix="give a writable folder as out=DIR") from None
