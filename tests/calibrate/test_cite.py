"""Citing a judge's calibration in a run (harness/calibrate/cite.py): only a result measured on
the judge config and rubric the run's scores carry is copied in and cited."""

from __future__ import annotations

from pathlib import Path

from harness.calibrate import cite_calibrations, result_path
from harness.rundir import CalibrationResult, RunDir, ScoreRecord, read_json, write_record_atomic
from harness.testing.rundirs import write_scores
from tests.calibrate.sets import make_result


def scores(run_dir: Path, coder: str = "heuristic", hashes: tuple[str, ...] = ("j1",),
           rubric_hash: str = "r1") -> None:
    write_scores(run_dir, coder, [
        ScoreRecord(blind_id=f"b{k}", dimension="D1", coder=coder, coder_kind="heuristic",
                    status="scored", level=1, rubric_hash=rubric_hash, coder_hash=coder_hash,
                    scored_at="2026-01-01T00:00:00+00:00")
        for k, coder_hash in enumerate(hashes)])


def test_a_matching_result_is_copied_into_the_run_and_cited(project: Path,
                                                            tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    scores(run.root)
    write_record_atomic(result_path("heuristic"), make_result())
    lines = cite_calibrations(run, ["heuristic"])
    assert lines == ["heuristic: calibration accuracy D1 0.50, D2 0.25 (tiny, 8 pairs)"]
    assert run.calibration("heuristic") == run.root / "scores" / "calibration" / "heuristic.json"
    assert read_json(run.calibration("heuristic"), CalibrationResult, fix="-") == make_result()


def test_a_result_for_another_judge_config_or_rubric_is_not_cited(project: Path,
                                                                  tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    scores(run.root)
    for other in (make_result(judge_hash="j2"), make_result(rubric_hash="r2")):
        write_record_atomic(result_path("heuristic"), other)
        (line,) = cite_calibrations(run, ["heuristic"])
        assert line == ("heuristic: not calibrated (calibration/heuristic.json measured another "
                        "judge config or rubric than the one these scores were made with): run "
                        "xstress calibrate heuristic")
        assert not run.calibration("heuristic").exists()


def test_without_a_result_or_with_mixed_scores_the_judge_is_not_calibrated(
        project: Path, tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    scores(run.root)
    scores(run.root, coder="other")
    assert cite_calibrations(run, ["heuristic", "other"]) == [
        "heuristic: not calibrated: run xstress calibrate heuristic",
        "other: not calibrated: run xstress calibrate other"]
    scores(run.root, hashes=("j1", "j2"))
    write_record_atomic(result_path("heuristic"), make_result())
    assert cite_calibrations(run, ["heuristic"]) == [
        "heuristic: not calibrated (its scores here were made with more than one judge config "
        "or rubric): run xstress calibrate heuristic"]


def test_the_copy_in_the_run_is_cited_while_it_covers_the_scores(project: Path,
                                                                  tmp_path: Path) -> None:
    """The judge was recalibrated after a config change, but this run's scores are older."""
    run = RunDir(tmp_path / "run")
    scores(run.root)
    write_record_atomic(run.calibration("heuristic"), make_result())
    write_record_atomic(result_path("heuristic"), make_result(judge_hash="j2",
                                                              accuracy=(1.0, 1.0)))
    assert cite_calibrations(run, ["heuristic"]) == [
        "heuristic: calibration accuracy D1 0.50, D2 0.25 (tiny, 8 pairs)"]
    assert read_json(run.calibration("heuristic"), CalibrationResult, fix="-") == make_result()
