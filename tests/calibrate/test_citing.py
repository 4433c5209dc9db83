"""A judge's calibration cited where its scores are used: the pipeline's score stage copies a
matching ``calibration/<judge>.json`` into the run and prints its accuracy, and the report
cites it from the run; a result measured on another judge config is cited by neither."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from harness.rundir import CalibrationResult, RunDir, read_json, write_record_atomic
from tests.calibrate.sets import write_set
from tests.conftest import Ran

Xstress = Callable[..., Ran]
CITED = ("xstress: score: heuristic: calibration accuracy D1 0.00, D2 1.00, D3 0.50, D4 1.00, "
         "D7 0.00, D8 0.50 (tiny, 10 pairs)")


def swept_copy(offline_run: Path, target: Path) -> Path:
    """The sweep's output for sim-eager under bare and verify (30 cells) of the offline run."""
    source, copy = RunDir(offline_run), RunDir(target)
    copy.root.mkdir(parents=True)
    shutil.copy(source.manifest(), copy.manifest())
    lines = [line for line in source.transcripts().read_text().splitlines()
             if json.loads(line)["model"] == "sim-eager"
             and json.loads(line)["scaffold"] in ("bare", "verify")]
    copy.transcripts().write_text("\n".join(lines) + "\n")
    return copy.root


def calibration_section(run_dir: Path) -> str:
    text = (run_dir / "report" / "report.md").read_text()
    section = text.split("## Coder calibration\n", 1)[1]
    return section.split("\n## ", 1)[0]


def scored_and_reported(run_dir: Path, xstress: Xstress) -> tuple[Ran, str]:
    assert xstress("blind", str(run_dir), "seed=1").code == 0
    score = xstress("score", str(run_dir), "judges=[heuristic]")
    assert score.code == 0, score.err
    report = xstress("report", str(run_dir), "n_boot=100", "n_perm=100")
    assert report.code == 0, report.err
    return score, calibration_section(run_dir)


def test_a_matching_calibration_is_copied_into_the_run_and_cited(
        project: Path, offline_run: Path, tmp_path: Path, xstress: Xstress) -> None:
    write_set(project)
    assert xstress("calibrate", "heuristic", "calibration=tiny", "report.n_boot=200").code == 0
    measured = read_json(project / "calibration" / "heuristic.json", CalibrationResult, fix="-")
    run_dir = swept_copy(offline_run, tmp_path / "run")
    score, section = scored_and_reported(run_dir, xstress)
    assert CITED in score.err.splitlines()
    assert read_json(RunDir(run_dir).calibration("heuristic"), CalibrationResult,
                     fix="-") == measured
    assert "heuristic (heuristic): calibrated on set tiny (6 items, 10 pairs; judge config " \
           f"{measured.judge_hash[:12]}, rubric interactional8" in section
    assert "Over every pair: accuracy 0.60 (1.00 where it gave a level), kappa 1.00 [" in section
    assert ("| D2 | clarification / intent elicitation | 3 | 3 | 0 | 0 | 1.00 | 1.00 | 1.00 | "
            "[1.00, 1.00] |") in section
    assert "| D7 | user-specific appropriateness | 1 | 0 | 1 | 0 | 0.00 |  |  |  | no pair " \
           "was given a level |" in section


def test_a_calibration_of_another_judge_config_is_not_cited(
        project: Path, offline_run: Path, tmp_path: Path, xstress: Xstress) -> None:
    write_set(project)
    assert xstress("calibrate", "heuristic", "calibration=tiny", "report.n_boot=200").code == 0
    path = project / "calibration" / "heuristic.json"
    other = read_json(path, CalibrationResult, fix="-").model_copy(
        update={"judge_hash": "0" * 64})
    write_record_atomic(path, other)
    run_dir = swept_copy(offline_run, tmp_path / "run")
    score, section = scored_and_reported(run_dir, xstress)
    assert CITED not in score.err
    assert ("xstress: score: heuristic: not calibrated (calibration/heuristic.json measured "
            "another judge config or rubric than the one these scores were made with): run "
            "xstress calibrate heuristic") in score.err.splitlines()
    assert not RunDir(run_dir).calibration("heuristic").exists()
    assert ("heuristic (heuristic): not calibrated (no scores/calibration/heuristic.json in this "
            f"run). To calibrate it: xstress calibrate heuristic, then xstress score {run_dir}"
            ) in section
    # a result for another config placed in the run by hand is not cited either
    write_record_atomic(RunDir(run_dir).calibration("heuristic"), other)
    assert xstress("report", str(run_dir), "n_boot=100", "n_perm=100").code == 0
    section = calibration_section(run_dir)
    assert ("heuristic (heuristic): not calibrated for these scores: the calibration in "
            "scores/calibration/heuristic.json measured judge config 000000000000") in section
    assert "calibrated on set" not in section and "| D2 |" not in section
