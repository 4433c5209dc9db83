"""The shapes of the benchmark audit's files: the benchmark list, a coded sheet row, and the
rows of ``coverage.csv`` and ``disagreements.csv``.

A benchmark list (YAML) names the benchmarks to audit, with a source and, optionally, an
evidence level; an audit sheet (CSV or YAML, one per coder or several coders in one) holds one
row per benchmark and coder with a level 0, 1 or 2 on each rubric dimension. This module owns
those shapes and the four evidence levels; reading files is ``sheets.py``'s, and
``agreement.csv`` rows are ``harness.rundir.AgreementRow``, as in ``xstress agree``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EVIDENCE_LEVELS",
    "LEVEL_MEANINGS",
    "BenchmarkEntry",
    "BenchmarkList",
    "CellStatus",
    "CoverageCell",
    "Disagreement",
    "EvidenceLevel",
    "SheetRow",
]

EvidenceLevel = Literal["model", "response", "interaction", "deployment"]
EVIDENCE_LEVELS: tuple[EvidenceLevel, ...] = ("model", "response", "interaction", "deployment")
"""The paper's four evidence levels, lowest first (the order of the coverage matrix's groups)."""
LEVEL_MEANINGS = {0: "not measured", 1: "partially or indirectly", 2: "substantively"}
"""What each audit code says about a benchmark and a dimension."""
CellStatus = Literal["adjudicated", "agreed", "one coder", "disputed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class BenchmarkEntry(_Record):
    """One benchmark to audit."""

    name: str = Field(min_length=1)
    """What the sheets call it (``tau-bench``); unique in the list."""
    source: str | None = None
    """Where it is described: the paper's title and arXiv id, or the official site."""
    evidence_level: EvidenceLevel | None = None
    """model, response, interaction or deployment; empty to leave it to the coders."""
    note: str = ""
    """Anything a coder should know before coding it (not a code)."""


class BenchmarkList(_Record):
    """A benchmark list file (``configs/audit/benchmarks.yaml``)."""

    name: str = Field(min_length=1)
    """The audit's name."""
    description: str = ""
    """What the list is and where its entries come from."""
    benchmarks: list[BenchmarkEntry] = Field(min_length=1)
    """The benchmarks, in the order the template lists them."""


class SheetRow(_Record):
    """One coder's codes for one benchmark, as read from an audit sheet."""

    benchmark: str
    """The benchmark's name."""
    source: str
    """Its source as the sheet gives it (may be empty)."""
    evidence_level: EvidenceLevel
    """The evidence level the coder gave it."""
    coder: str
    """Who coded this row."""
    levels: dict[str, int]
    """Dimension id -> 0 (not measured), 1 (partially or indirectly), 2 (substantively)."""
    note: str = ""
    """The coder's note."""
    file: str
    """The sheet it came from (for messages)."""
    row: int
    """Its row number in that file (CSV: the line, header = 1; YAML: the entry, first = 1)."""


class CoverageCell(_Record):
    """One benchmark and dimension of the coverage matrix: a row of ``coverage.csv``."""

    benchmark: str
    """The benchmark."""
    evidence_level: str
    """Its evidence level (adjudicated, or agreed by the coders), or ``disputed``."""
    dimension: str
    """The rubric dimension."""
    level: int | None
    """The code shown: the adjudicated level, the coders' common level, or the only coder's;
    empty when the coders differ and nothing adjudicated it."""
    status: CellStatus
    """Where ``level`` comes from."""
    codes: str
    """Every code given, ``coder=level`` joined by ``; `` (the adjudicated one included)."""


class Disagreement(_Record):
    """A benchmark and field on which the coders differ: a row of ``disagreements.csv``."""

    benchmark: str
    """The benchmark."""
    field: str
    """A dimension id, or ``evidence_level``."""
    codes: str
    """Each coder's code, ``coder=code`` joined by ``; ``."""
    spread: int | None
    """Highest minus lowest level (a dimension); empty for the evidence level."""
    adjudicated: str
    """The adjudicated code, or empty when no adjudicated sheet settles it."""
    notes: str = ""
    """The coders' notes on this benchmark, ``coder: note`` joined by `` | ``."""
