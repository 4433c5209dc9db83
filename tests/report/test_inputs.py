"""Tests for harness/report/inputs.py: every file of the run read as its record, and the policy
for damaged ones (torn transcript tail: a warning; invalid manifest: an error; invalid leak
report or agreement rows: ignored with a warning, the report saying "not measured" / "not
computed")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.report.inputs import read_inputs
from harness.rundir import AgreementRow, LeakReport, RunDir
from harness.testing.rundirs import scored_run


def test_every_file_is_read_as_its_record(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path, coders=(("heuristic", "heuristic"), ("alice", "human"))))
    inputs = read_inputs(run_dir)
    assert len(inputs.key_entries) == 2 * 2 * 6 * 2
    assert sorted(inputs.coders) == ["alice", "heuristic"]
    assert inputs.coders["alice"].kinds == {"human"}
    [manifest] = inputs.manifests
    assert [spec.name for spec in manifest.config.models] == ["alpha", "beta"]
    assert isinstance(inputs.leak_report, LeakReport)
    assert inputs.agreement is not None
    assert inputs.agreement[0] == AgreementRow(
        dimension="D1", coder_a="heuristic", coder_b="alice", statistic="cohen_kappa",
        n_items=24, value=0.5, note="")
    assert inputs.agreement[1].value is None  # an empty cell
    assert inputs.transcripts is not None and inputs.transcripts.simulated
    assert inputs.transcripts.counts()[("alpha", "bare", "ok")] == 12
    assert inputs.warnings == []


def test_a_torn_transcript_tail_is_a_warning(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path))
    with run_dir.transcripts().open("a") as handle:
        handle.write('{"cell_id": "alpha.bare.scenario-00.0", "mod')
    inputs = read_inputs(run_dir)
    assert inputs.transcripts is not None and len(inputs.transcripts.cells) == 48
    [warning] = inputs.warnings
    assert "transcripts.jsonl: skipped a torn last line 49" in warning


def test_an_invalid_manifest_is_an_input_error(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path))
    data = json.loads(run_dir.manifest().read_text())
    del data["hashes"]
    run_dir.manifest().write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"manifest\.json: not a valid manifest \(hashes"):
        read_inputs(run_dir)


def test_an_invalid_leak_report_is_ignored_with_a_warning(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path))
    run_dir.leak_report.write_text('{"schema": "xstress.leak_report/1", "passed": "maybe"}')
    inputs = read_inputs(run_dir)
    assert inputs.leak_report is None
    [warning] = inputs.warnings
    assert "leak_report.json: not a valid leak report" in warning and warning.endswith("ignored")


def test_an_invalid_agreement_row_is_ignored_with_a_warning(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path))
    text = run_dir.agreement.read_text().replace("cohen_kappa,24,", "cohen_kappa,many,", 1)
    run_dir.agreement.write_text(text)
    inputs = read_inputs(run_dir)
    assert inputs.agreement is None
    assert inputs.warnings == [
        "report/agreement.csv line 2 is not a valid agreement row (n_items: Input should be a "
        "valid integer, unable to parse string as an integer); ignored"
    ]


def test_agreement_without_its_columns_is_ignored_with_a_warning(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path))
    run_dir.agreement.write_text("dimension,value\nD1,0.5\n")
    inputs = read_inputs(run_dir)
    assert inputs.agreement is None
    assert inputs.warnings == ["report/agreement.csv lacks the expected columns; ignored"]


def test_extra_agreement_columns_are_tolerated(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path))
    lines = run_dir.agreement.read_text().splitlines()
    run_dir.agreement.write_text(
        "\n".join([lines[0] + ",comment", *(line + ",x" for line in lines[1:])]) + "\n")
    inputs = read_inputs(run_dir)
    assert inputs.agreement is not None and len(inputs.agreement) == 6
    assert inputs.warnings == []
