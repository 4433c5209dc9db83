"""Tests for harness/blind/workers.py: worker processes change nothing in the output, and a
failing process pool falls back to one process."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

import harness.blind.stage as stage
import harness.blind.workers as workers
from harness.blind import blind_run
from harness.rundir import LeakReport, RunDir, read_json
from tests.blind.synthetic import offline_run, read_lines


def _report(run_dir: Path) -> LeakReport:
    return read_json(RunDir(run_dir).leak_report, LeakReport, fix="a test")


@pytest.mark.slow
def test_worker_processes_do_not_change_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    layout = RunDir(run_dir)
    monkeypatch.setattr(stage, "BUCKET_TARGET_BYTES", 50_000)
    blind_run(run_dir, seed=4, workers=1)
    serial = [e["cell_id"] for e in read_lines(layout.key)]
    serial_report = _report(run_dir)
    serial_items = [(i["messages"], i["targets"], i["reference_notes"])
                    for i in read_lines(layout.items)]
    assert all(notes for _, _, notes in serial_items)
    # With another thread alive the pool spawns its workers instead of forking them.
    for other_thread in (False, True):
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        if other_thread:
            thread.start()
        try:
            blind_run(run_dir, seed=4, force=True, workers=2)
        finally:
            stop.set()
        parallel = [e["cell_id"] for e in read_lines(layout.key)]
        parallel_report = _report(run_dir)
        assert parallel == serial
        # Worker processes copy each scenario's targets and notes as this process does.
        assert [(i["messages"], i["targets"], i["reference_notes"])
                for i in read_lines(layout.items)] == serial_items
        for field in ("replacements", "excluded", "identifiability", "n_items", "warnings"):
            assert getattr(parallel_report, field) == getattr(serial_report, field)
        assert stat.S_IMODE(layout.key.stat().st_mode) == 0o600


def _broken_worker(*_args: object) -> None:
    raise RuntimeError("this worker cannot start")


def test_a_failing_process_pool_falls_back_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    layout = RunDir(run_dir)
    monkeypatch.setattr(stage, "BUCKET_TARGET_BYTES", 50_000)
    blind_run(run_dir, seed=4, workers=1)
    serial = read_lines(layout.key)
    monkeypatch.setattr(workers, "_start_worker", _broken_worker)
    blind_run(run_dir, seed=4, force=True, workers=2)
    fallback = read_lines(layout.key)
    assert [e["cell_id"] for e in fallback] == [e["cell_id"] for e in serial]
    report = _report(run_dir)
    assert any("blinded in one process instead" in w for w in report.warnings)
    assert report.n_items == 173
