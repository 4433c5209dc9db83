"""Tests for harness/blind/buckets.py: reading the transcripts (one policy for torn and corrupt
lines, shards), and the bucketed shuffle (duplicates meet, the bucket count changes nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.blind.stage as stage
from harness.blind import blind_run
from harness.errors import InputError
from harness.rundir import LeakReport, RunDir, read_json
from tests.blind.synthetic import few_records, offline_run, read_lines, write_run


def test_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", few_records(2))
    with RunDir(run_dir).transcripts().open("a", encoding="utf-8") as handle:
        handle.write('{"schema": "xstress.transcript/1", "run_id": "run-te')
    summary = blind_run(run_dir)
    assert summary.n_items == 2
    report = read_json(summary.leak_report_path, LeakReport, fix="a test")
    assert any("torn last line" in warning for warning in report.warnings)


def test_corrupt_middle_line_is_an_input_error(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", few_records(2))
    transcripts = RunDir(run_dir).transcripts()
    lines = transcripts.read_text(encoding="utf-8").splitlines()
    transcripts.write_text(lines[0] + "\n{oops}\n" + lines[1] + "\n")
    with pytest.raises(InputError, match=r"transcripts.jsonl: line 2 is not a valid transcript "
                                         r"record") as caught:
        blind_run(run_dir)
    assert "only a crash's last line may be torn" in caught.value.one_line()
    assert not RunDir(run_dir).items.exists()


def test_shards_are_read_as_one_run(tmp_path: Path) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    layout = RunDir(run_dir)
    lines = layout.transcripts().read_text(encoding="utf-8").splitlines(keepends=True)
    layout.transcripts().unlink()
    layout.transcripts(0, 2).write_text("".join(lines[:90]))
    layout.transcripts(1, 2).write_text("".join(lines[90:]))
    summary = blind_run(run_dir, seed=2)
    assert summary.n_items == 173 and summary.n_excluded == 7


def test_many_buckets_give_the_same_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    blind_run(run_dir, seed=3)
    one_bucket = items_by_cell(run_dir)
    monkeypatch.setattr(stage, "BUCKET_TARGET_BYTES", 20_000)
    blind_run(run_dir, seed=3, force=True)
    assert items_by_cell(run_dir) == one_bucket
    report = read_json(RunDir(run_dir).leak_report, LeakReport, fix="a test")
    assert report.n_items == 173 and report.n_duplicates_replaced == 1


def items_by_cell(run_dir: Path) -> dict[str, tuple[str, str]]:
    """Each cell's item (its messages and scenario), whatever the item order and ids."""
    layout = RunDir(run_dir)
    items = read_lines(layout.items)
    key = read_lines(layout.key)
    return {
        str(entry["cell_id"]): (json.dumps(item["messages"]), str(item["scenario_id"]))
        for item, entry in zip(items, key, strict=True)
    }
