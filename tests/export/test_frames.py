"""``harness.load_run``: a run as DataFrames (cells, turns, scores; the key on request), and
the README's five-line example that rebuilds the report's profile means."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness.errors import InputError
from harness.export import CELL_COLUMNS, KEY_COLUMNS, SCORE_COLUMNS, TURN_COLUMNS
from harness.testing.rundirs import scored_run
from tests.conftest import ROOT
from tests.export.conftest import json_lines, last_per_cell, score_files

SECTION = "## Data export and Python API"


def readme_example() -> str:
    """The first Python block of the README's export section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", 1)]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the export section has no Python example"
    return match.group(1)


def test_the_readme_example_is_five_lines_and_rebuilds_the_report_profile(
        offline_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = readme_example()
    assert len(code.strip().splitlines()) == 5
    namespace: dict[str, object] = {}
    exec(code.replace("transcripts/<run>", str(offline_run)), namespace)
    assert "D1" in capsys.readouterr().out
    profile = namespace["profile"]
    with (offline_run / "report" / "profiles.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["coder"] for row in rows} == {"sim_judge"}  # the coder the example names
    estimated = [row for row in rows if row["mean"] != ""]
    assert estimated and len(estimated) < len(rows)  # some means are not estimable
    for row in rows:
        where = (row["model"], row["scaffold"], row["dimension"])
        if row["mean"] == "":
            assert where not in profile.index  # type: ignore[attr-defined]
        else:
            assert float(profile[where]) == pytest.approx(float(row["mean"]))  # type: ignore[index]
    assert len(profile) == len(estimated)  # type: ignore[arg-type]


def test_blind_by_default(offline_run: Path) -> None:
    run = harness.load_run(offline_run)
    assert not run.unblinded and run.key is None
    assert list(run.scores.columns) == list(SCORE_COLUMNS)
    assert list(run.cells.columns) == list(CELL_COLUMNS)[:-1]  # no blind_id
    assert run.simulated and bool(run.cells["simulated"].all())


def test_frames_hold_every_cell_message_and_score(offline_run: Path) -> None:
    run = harness.load_run(offline_run, unblind=True)
    cells = last_per_cell(offline_run)
    assert len(run.cells) == len(cells) and set(run.cells["cell_id"]) == set(cells)
    assert list(run.turns.columns) == list(TURN_COLUMNS)
    assert len(run.turns) == sum(len(c["messages"]) for c in cells.values())
    first = next(iter(cells.values()))
    turns = run.turns[run.turns["cell_id"] == first["cell_id"]]
    assert list(turns["content"]) == [m["content"] for m in first["messages"]]
    assert int(turns["turn"].max()) == sum(m["role"] == "user" for m in first["messages"]) - 1
    coders = score_files(offline_run)
    assert len(run.scores) == sum(len(records) for records in coders.values())
    assert run.key is not None and list(run.key.columns) == list(KEY_COLUMNS)


def test_unblinding_joins_the_key(offline_run: Path) -> None:
    run = harness.load_run(offline_run, unblind=True)
    key = {e["blind_id"]: e for e in json_lines(offline_run / "blind" / "key.jsonl")}
    assert list(run.scores.columns) == list(SCORE_COLUMNS) + list(KEY_COLUMNS)[1:]
    for row in run.scores.sample(50, random_state=0).itertuples():
        entry = key[row.blind_id]
        assert (row.cell_id, row.model, row.scaffold, row.prompt_id, row.replicate) == (
            entry["cell_id"], entry["model"], entry["scaffold"], entry["prompt_id"],
            entry["replicate"])
    blind_ids = dict(zip(run.cells["cell_id"], run.cells["blind_id"], strict=True))
    assert all(blind_ids[e["cell_id"]] == b for b, e in key.items())


def test_error_cells_are_cells_without_a_blind_id(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, failed_cells={("beta", "verify", 2, 0): "blocked"})
    run = harness.load_run(run_dir, unblind=True)
    blocked = run.cells[run.cells["status"] == "blocked"]
    assert list(blocked["cell_id"]) == ["beta.verify.scenario-02.0"]
    assert blocked["blind_id"].isna().all()
    assert run.cells["blind_id"].notna().sum() == len(run.cells) - 1


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such run directory"):
        harness.load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no transcripts"):
        harness.load_run(tmp_path / "empty")
    run_dir = scored_run(tmp_path)
    (run_dir / "blind" / "key.jsonl").unlink()
    assert harness.load_run(run_dir).key is None  # blind loading needs no key
    with pytest.raises(InputError, match="no blinding key"):
        harness.load_run(run_dir, unblind=True)


def test_import_harness_stays_light() -> None:
    # harness.load_run itself is reached lazily by the other tests here
    code = ("import sys, harness; print([m for m in ('pandas', 'harness.export', "
            "'harness.report') if m in sys.modules])")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"
