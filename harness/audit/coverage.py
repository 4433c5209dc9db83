"""The coverage matrix: which benchmark measures which dimension, by the sheets' own codes.

A cell shows the adjudicated level where an adjudicated sheet gives one, else the level every
coder gave, else the only coder's level; where coders differ and nothing adjudicates, the cell
has no level and is ``disputed``. Nothing is averaged or invented: every level shown is a code
someone gave in a sheet, and each cell records whose. The same rule settles a benchmark's
evidence level. This module also lists the disagreements and counts, per dimension, how many
benchmarks measure it substantively (level 2). It draws nothing (``plots.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.audit.records import EVIDENCE_LEVELS, CellStatus, CoverageCell, Disagreement, SheetRow

__all__ = ["DISPUTED", "AuditCoverage", "BenchmarkCoverage", "DimensionCount", "build_coverage"]

DISPUTED = "disputed"
"""A benchmark's evidence level when its coders differ and nothing adjudicates it."""


@dataclass(frozen=True)
class BenchmarkCoverage:
    """One benchmark's row of the coverage matrix."""

    name: str
    source: str
    evidence_level: str
    """One of the four levels, or ``disputed``."""
    levels: dict[str, int | None]
    """Dimension -> the level shown, None where disputed."""
    given: dict[str, tuple[int, ...]]
    """Dimension -> every coder's level (adjudicated sheet excluded), coder-name order."""


@dataclass(frozen=True)
class DimensionCount:
    """How the benchmarks cover one dimension."""

    dimension: str
    n_benchmarks: int
    substantive: int
    """Benchmarks shown at level 2."""
    partial: int
    """... at level 1."""
    not_measured: int
    """... at level 0."""
    disputed: int
    """Benchmarks whose level is disputed (coders differ, not adjudicated)."""


@dataclass(frozen=True)
class AuditCoverage:
    """The coverage matrix, its cells, the disagreements and the per-dimension counts."""

    benchmarks: tuple[BenchmarkCoverage, ...]
    """Grouped by evidence level (lowest first, disputed last), sheet order within a group."""
    cells: tuple[CoverageCell, ...]
    disagreements: tuple[Disagreement, ...]
    counts: tuple[DimensionCount, ...]


def build_coverage(rows: Sequence[SheetRow], adjudicated: Sequence[SheetRow],
                   dimensions: Sequence[str]) -> AuditCoverage:
    """The coverage matrix from the coders' rows and an adjudicated sheet's (may be empty).

    Args:
        rows: every coder's rows.
        adjudicated: the adjudicated sheet's rows; each settles its benchmark entirely.
        dimensions: the rubric's dimension ids, in order.
    """
    by_benchmark: dict[str, dict[str, SheetRow]] = {}
    for row in rows:
        by_benchmark.setdefault(row.benchmark.casefold(), {})[row.coder] = row
    settled = {row.benchmark.casefold(): row for row in adjudicated}
    for key in settled:
        by_benchmark.setdefault(key, {})
    benchmarks: list[BenchmarkCoverage] = []
    cells: list[CoverageCell] = []
    disagreements: list[Disagreement] = []
    for key, coded in by_benchmark.items():
        coders = {coder: coded[coder] for coder in sorted(coded)}
        judge = settled.get(key)
        first = next(iter(coders.values()), judge)
        assert first is not None  # every key came from a coder row or an adjudicated row
        evidence = _evidence(coders, judge, disagreements, first.benchmark)
        levels: dict[str, int | None] = {}
        given: dict[str, tuple[int, ...]] = {}
        for dimension in dimensions:
            cell = _cell(first.benchmark, evidence, dimension, coders, judge)
            cells.append(cell)
            levels[dimension] = cell.level
            given[dimension] = tuple(row.levels[dimension] for row in coders.values())
            if len(set(given[dimension])) > 1:
                disagreements.append(Disagreement(
                    benchmark=first.benchmark, field=dimension, codes=_codes(coders, dimension),
                    spread=max(given[dimension]) - min(given[dimension]),
                    adjudicated="" if judge is None else str(judge.levels[dimension]),
                    notes=_notes(coders)))
        source = next((row.source for row in (judge, *coders.values()) if row and row.source), "")
        benchmarks.append(BenchmarkCoverage(first.benchmark, source, evidence, levels, given))
    order = {level: rank for rank, level in enumerate((*EVIDENCE_LEVELS, DISPUTED))}
    # Stable sorts: sheet order within an evidence level, the same in the figure and the CSV.
    benchmarks.sort(key=lambda b: order[b.evidence_level])
    cells.sort(key=lambda c: order[c.evidence_level])
    return AuditCoverage(tuple(benchmarks), tuple(cells), tuple(disagreements),
                         tuple(_count(dimension, benchmarks) for dimension in dimensions))


def _codes(coders: dict[str, SheetRow], dimension: str) -> str:
    return "; ".join(f"{coder}={row.levels[dimension]}" for coder, row in coders.items())


def _notes(coders: dict[str, SheetRow]) -> str:
    return " | ".join(f"{coder}: {row.note}" for coder, row in coders.items() if row.note)


def _evidence(coders: dict[str, SheetRow], judge: SheetRow | None,
              disagreements: list[Disagreement], benchmark: str) -> str:
    given = {row.evidence_level for row in coders.values()}
    if len(given) > 1:
        disagreements.append(Disagreement(
            benchmark=benchmark, field="evidence_level",
            codes="; ".join(f"{coder}={row.evidence_level}" for coder, row in coders.items()),
            spread=None, adjudicated="" if judge is None else judge.evidence_level,
            notes=_notes(coders)))
    if judge is not None:
        return judge.evidence_level
    return given.pop() if len(given) == 1 else DISPUTED


def _cell(benchmark: str, evidence: str, dimension: str, coders: dict[str, SheetRow],
          judge: SheetRow | None) -> CoverageCell:
    given = {row.levels[dimension] for row in coders.values()}
    codes = _codes(coders, dimension)
    status: CellStatus
    if judge is not None:
        level: int | None = judge.levels[dimension]
        status = "adjudicated"
        codes = "; ".join(part for part in (codes, f"{judge.coder} (adjudicated)={level}")
                          if part)
    elif len(given) == 1:
        level = next(iter(given))
        status = "one coder" if len(coders) == 1 else "agreed"
    else:
        level, status = None, "disputed"
    return CoverageCell(benchmark=benchmark, evidence_level=evidence, dimension=dimension,
                        level=level, status=status, codes=codes)


def _count(dimension: str, benchmarks: Sequence[BenchmarkCoverage]) -> DimensionCount:
    shown = [b.levels[dimension] for b in benchmarks]
    return DimensionCount(dimension=dimension, n_benchmarks=len(shown),
                          substantive=shown.count(2), partial=shown.count(1),
                          not_measured=shown.count(0), disputed=shown.count(None))
