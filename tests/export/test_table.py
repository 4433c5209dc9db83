"""The tidy table: one row per blinded cell x dimension x coder, CSV or Parquet, and the
command line around it (settings, not flags)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from harness.export import TABLE_COLUMNS
from harness.rundir import ScoreRecord
from harness.testing.rundirs import scored_run, write_scores
from tests.conftest import Ran
from tests.export.conftest import json_lines, score_files


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rows_are_cells_x_dimensions_x_coders(offline_run: Path, tmp_path: Path,
                                              xstress: Callable[..., Ran]) -> None:
    out = tmp_path / "table.csv"
    ran = xstress("export", "table", str(offline_run), f"out={out}")
    assert ran.code == 0, ran.err
    assert "SIMULATED" in ran.err
    rows = read_csv(out)
    items = json_lines(offline_run / "blind" / "key.jsonl")
    coders = score_files(offline_run)
    dimensions = {r["dimension"] for records in coders.values() for r in records}
    assert len(rows) == len(items) * len(dimensions) * len(coders)
    assert f"table: {len(rows)} rows" in ran.err
    assert list(rows[0]) == list(TABLE_COLUMNS)
    levels = {(coder, r["blind_id"], r["dimension"]): (r["status"], r["level"])
              for coder, records in coders.items() for r in records}
    for row in rows:
        status, level = levels[(row["coder"], row["blind_id"], row["dimension"])]
        assert row["status"] == status
        assert row["level"] == ("" if level is None else str(level))
    assert {row["simulated"] for row in rows} == {"True"}


def test_parquet_holds_the_same_table(tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    run_dir = scored_run(tmp_path)
    assert xstress("export", "table", str(run_dir)).code == 0
    assert xstress("export", "table", str(run_dir), "format=parquet").code == 0
    from_csv = pd.read_csv(run_dir / "export" / "table.csv")
    from_parquet = pd.read_parquet(run_dir / "export" / "table.parquet")
    assert list(from_parquet.columns) == list(TABLE_COLUMNS)
    assert len(from_parquet) == len(from_csv) == 2 * 2 * 6 * 2 * 3
    assert list(from_parquet["level"].astype("Int64")) == list(from_csv["level"].astype("Int64"))
    assert list(from_parquet["blind_id"]) == list(from_csv["blind_id"])


def test_a_missing_code_is_a_row_not_a_gap(tmp_path: Path) -> None:
    from harness.export import export_table

    run_dir = scored_run(tmp_path, coders=(("heuristic", "heuristic"), ("alice", "human")),
                         failed_cells={("alpha", "bare", 0, 0): "error"})
    records = [ScoreRecord.model_validate(r)
               for r in json_lines(run_dir / "scores" / "alice.jsonl")]
    write_scores(run_dir, "alice", [r for r in records if r.blind_id != "b00003"])
    summary = export_table(run_dir)
    rows = read_csv(summary.path)
    items = 2 * 2 * 6 * 2 - 1
    assert (summary.items, summary.dimensions, summary.coders) == (items, 3, 2)
    assert len(rows) == summary.rows == items * 3 * 2
    missing = [row for row in rows if row["status"] == "missing"]
    assert {(row["coder"], row["blind_id"]) for row in missing} == {("alice", "b00003")}
    assert len(missing) == 3 and all(row["level"] == "" for row in missing)
    assert "alpha.bare.scenario-00.0" not in {row["cell_id"] for row in rows}


def test_parquet_without_pyarrow_is_a_one_line_error(tmp_path: Path, xstress: Callable[..., Ran],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = scored_run(tmp_path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an import sees when it is absent
    ran = xstress("export", "table", str(run_dir), "format=parquet")
    assert ran.code == 2
    assert ran.err.strip() == (
        "xstress: error: format=parquet needs pyarrow, which is not installed (fix: install "
        "the parquet extra (uv sync --extra parquet, or pip install 'xstress[parquet]'), or "
        "write format=csv)")
    assert not (run_dir / "export").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["table", "RUN", "--format", "parquet"],
     "xstress export table: --format is a setting, not a flag "
     "(fix: write format=parquet (settings are key=value))"),
    (["inspect", "RUN", "-o", "logs"],
     "xstress export inspect: -o is a setting, not a flag "
     "(fix: write out=logs (settings are key=value))"),
    (["table", "RUN", "-o=t.csv"],
     "xstress export table: -o is a setting, not a flag "
     "(fix: write out=t.csv (settings are key=value))"),
    (["inspect", "RUN", "--out", "logs"],
     "xstress export inspect: --out is a setting, not a flag "
     "(fix: write out=logs (settings are key=value))"),
    (["table", "RUN", "format=xlsx"], "format"),
    (["pdf", "RUN"], "xstress export: expected 'inspect' or 'table', got pdf"),
])
def test_the_command_line_dialect(argv: list[str], message: str, tmp_path: Path,
                                  xstress: Callable[..., Ran]) -> None:
    run_dir = scored_run(tmp_path)
    ran = xstress("export", *[str(run_dir) if a == "RUN" else a for a in argv])
    assert ran.code == 2
    assert len(ran.err.strip().splitlines()) == 1
    assert message in ran.err
    assert not (run_dir / "export").exists()


def test_a_missing_run_or_scores_is_a_one_line_error(tmp_path: Path,
                                                     xstress: Callable[..., Ran]) -> None:
    ran = xstress("export", "table", str(tmp_path / "nope"))
    assert ran.code == 2 and "not found" in ran.err and len(ran.err.strip().splitlines()) == 1
    run_dir = scored_run(tmp_path)
    for path in (run_dir / "scores").glob("*.jsonl"):
        path.unlink()
    ran = xstress("export", "table", str(run_dir))
    assert ran.code == 2 and "no scores" in ran.err and "xstress score" in ran.err
