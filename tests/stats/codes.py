"""Coders' codes for the agreement tests: a column of levels per coder written as a score file,
the ten-item worked example, and lookups into an agreement result."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Literal

from harness.rundir import AgreementRow, ScoreRecord
from harness.stats import AgreementResult
from harness.testing.rundirs import NOW, write_scores

Code = int | str | None
"""A level, "null" or "unscored"; None means the coder has no record."""

# Two coders, ten items: rows alice's level, columns bob's level.
CONFUSION = ((2, 1, 0), (1, 3, 1), (0, 0, 2))


def write_codes(
    run_dir: Path,
    coder: str,
    codes: dict[tuple[str, str], Code],
    kind: Literal["llm_judge", "heuristic", "human"] = "human",
    rubric_hash: str | None = None,
) -> None:
    """Write ``scores/<coder>.jsonl`` with one record per code (None: no record)."""
    records = [
        ScoreRecord(
            blind_id=blind_id,
            dimension=dimension,
            coder=coder,
            coder_kind=kind,
            status="scored" if isinstance(code, int) else code,  # type: ignore[arg-type]
            level=code if isinstance(code, int) else None,
            reason=None if isinstance(code, int) else "not applicable",
            rubric_hash=rubric_hash,
            scored_at=NOW,
        )
        for (blind_id, dimension), code in codes.items()
        if code is not None
    ]
    write_scores(run_dir, coder, records)


def column(values: Sequence[Code], dimension: str = "D1") -> dict[tuple[str, str], Code]:
    """Codes of items itm-00, itm-01, ... on one dimension."""
    return {(f"itm-{index:02d}", dimension): value for index, value in enumerate(values)}


def pairs_from_confusion(confusion: tuple[tuple[int, ...], ...]) -> tuple[list[int], list[int]]:
    """Two coders' levels, item by item, that cross-tabulate to ``confusion``."""
    first: list[int] = []
    second: list[int] = []
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            first += [i] * count
            second += [j] * count
    return first, second


def get(result: AgreementResult, statistic: str, a: str, b: str, dim: str = "D1") -> AgreementRow:
    """The one estimate of ``statistic`` for coders ``a`` and ``b`` on ``dim``."""
    found = [
        e
        for e in result.estimates
        if (e.statistic, e.coder_a, e.coder_b, e.dimension) == (statistic, a, b, dim)
    ]
    assert len(found) == 1
    return found[0]


def close(value: float | None, expected: Fraction | float) -> bool:
    """``value`` is a number within 1e-9 of ``expected``."""
    return value is not None and abs(value - float(expected)) < 1e-9


def as_lists(confusion: tuple[tuple[int, ...], ...]) -> list[list[int]]:
    """A confusion matrix as ``ConfusionMatrix.counts`` holds it."""
    return [list(row) for row in confusion]
