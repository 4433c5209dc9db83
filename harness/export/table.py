"""The tidy table: one row per blinded cell x rubric dimension x coder, as CSV or Parquet.

This module owns the table's columns (``TABLE_COLUMNS``, listed in the README too), its grid
(every item of the key, every dimension any coder scored, every coder with a score file; a
(item, dimension) a coder has no record for is a row with status ``missing``, never dropped),
and writing it atomically. Parquet needs pyarrow, an optional dependency (the ``parquet``
extra): without it, asking for Parquet is a one-line error, and CSV always works. It reads
through ``frames.py`` (which reads through ``reading.py``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harness.errors import ConfigError, InputError
from harness.export.frames import RunData, frames_of
from harness.export.reading import read_run
from harness.rundir import RunDir, write_bytes_atomic

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLE_COLUMNS", "TableFormat", "TableSummary", "build_table", "export_table"]

TableFormat = Literal["csv", "parquet"]

TABLE_COLUMNS = {
    "run_id": "the run directory's name",
    "simulated": "True when the cell's model is one of xstress's simulated models",
    "blind_id": "the blinded item",
    "cell_id": "the cell it came from",
    "model": "model config name",
    "scaffold": "scaffold name",
    "prompt_id": "scenario id",
    "prompt_set": "the prompt set",
    "domain": "the scenario's domain",
    "probe": "underspecified, checkable or multiturn",
    "replicate": "replicate index, from 0",
    "dimension": "rubric dimension (D1 ...)",
    "coder": "the coder (scores/<coder>.jsonl)",
    "coder_kind": "llm_judge, heuristic or human",
    "status": "scored, null, unscored, or missing (the coder has no record for this item and "
              "dimension)",
    "level": "0, 1 or 2 for scored; empty otherwise (a null is never a 0)",
    "reason": "why null or unscored",
    "rationale": "the coder's reasoning, when given",
    "rubric_hash": "content hash of the rubric coded on",
    "coder_hash": "content hash of the judge config (empty for people)",
}
"""Columns of the tidy table, in order."""


@dataclass(frozen=True)
class TableSummary:
    """What ``export_table`` wrote.

    Attributes:
        path: the file written.
        items, dimensions, coders: the grid's sides (blinded cells, dimensions, coders).
        simulated: the run used simulated models.
        warnings: data problems met while reading.
    """

    path: Path
    items: int
    dimensions: int
    coders: int
    simulated: bool
    warnings: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Rows in the table: items x dimensions x coders."""
        return self.items * self.dimensions * self.coders


def build_table(run: RunData) -> pd.DataFrame:
    """The tidy table of an unblinded run: one row per key item x dimension x coder.

    Raises:
        InputError: the run was loaded without the key, or has no scores.
    """
    import pandas as pd

    if run.key is None:
        raise InputError("the tidy table needs the blinding key",
                         fix="load the run with unblind=True")
    if run.scores.empty:
        raise InputError(f"{run.path}: no scores (scores/<coder>.jsonl)",
                         fix=f"run xstress score {run.path} first")
    dimensions = pd.DataFrame({"dimension": sorted(run.scores["dimension"].unique())})
    kinds = run.scores.groupby("coder", sort=True)["coder_kind"].agg(
        lambda kinds: "/".join(sorted(set(kinds))))
    coders = pd.DataFrame({"coder": kinds.index, "coder_kind": kinds.to_numpy()})
    cells = run.cells[["cell_id", "run_id", "simulated", "prompt_set", "domain", "probe"]]
    grid = (run.key.merge(cells, on="cell_id", how="left")
            .merge(dimensions, how="cross").merge(coders, how="cross"))
    scored = run.scores[["blind_id", "dimension", "coder", "status", "level", "reason",
                         "rationale", "rubric_hash", "coder_hash"]]
    table = grid.merge(scored, on=["blind_id", "dimension", "coder"], how="left")
    table["status"] = table["status"].fillna("missing")
    table = table.sort_values(["model", "scaffold", "prompt_id", "replicate", "dimension",
                               "coder"], kind="stable")
    return table[list(TABLE_COLUMNS)].reset_index(drop=True)


def export_table(path: str | Path, *, table_format: TableFormat = "csv",
                 out: str | Path | None = None) -> TableSummary:
    """Write the tidy table of a run (default ``RUN/export/table.<format>``).

    Raises:
        ConfigError: Parquet asked for and pyarrow is not installed.
        InputError: no run, transcripts, key or scores; a damaged file.
        OutputError: the file cannot be written.
    """
    if table_format == "parquet":
        _require_pyarrow()
    run = frames_of(read_run(path, unblind=True))
    table = build_table(run)
    target = Path(out) if out is not None else (
        RunDir(Path(path)).export_dir / f"table.{table_format}")
    if target.is_dir():
        target = target / f"table.{table_format}"
    buffer = io.BytesIO()
    if table_format == "parquet":
        table.to_parquet(buffer, index=False)
    else:
        table.to_csv(buffer, index=False, lineterminator="\n")
    write_bytes_atomic(target, buffer.getvalue())
    return TableSummary(target, len(run.key) if run.key is not None else 0,
                        table["dimension"].nunique(), table["coder"].nunique(), run.simulated,
                        run.warnings)


def _require_pyarrow() -> None:
    """Fail before reading anything when Parquet cannot be written."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigError("format=parquet needs pyarrow, which is not installed",
                          fix="install the parquet extra (uv sync --extra parquet, or pip "
                              "install 'xstress[parquet]'), or write format=csv") from None
